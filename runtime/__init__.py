"""berth's container engine: images, rootfs, namespaces, cgroups, networks, monitors."""
