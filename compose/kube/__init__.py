"""`berth kube`: a compose project as Kubernetes objects.

convert (pure: model -> objects and a report) is built from layout (the project-wide
decisions), pods, probes, storage, security, services, policy and workloads; kustomize
writes the result, images and source gather what a conversion reads (built images,
EXPOSE, files on this machine), apply talks to a cluster.
"""
