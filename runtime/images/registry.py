"""A client for registries (the OCI distribution spec, v2): pull and push.

HTTPS, or plain HTTP for localhost, 127.0.0.1 and configured insecure registries.
Anonymous bearer tokens from the WWW-Authenticate challenge, and basic auth with the
credentials `berth login` stored (or docker's ~/.docker/config.json). Manifest lists
and OCI indexes are resolved to this machine's platform (or the one asked for).
Every blob's digest is verified before it enters the store; layers download in
parallel (bounded), each once even when several pulls want it, and an interrupted
download resumes from where it stopped.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .. import eventlog
from ..errors import BerthError
from ..fsutil import locked, read_json, write_json
from . import imageconfig
from common.reference import DEFAULT_DOMAIN, Reference, parse
from .store import Image, ImageStore, digest_hex

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[:2]
DOCKER_HUB = "registry-1.docker.io"
DEFAULT_PARALLEL = 3

Progress = Callable[[str, str, int, int], None]  # (layer id, status, done bytes, total bytes)


class RegistryError(BerthError):
    pass


def _api_host(domain: str) -> str:
    return DOCKER_HUB if domain == DEFAULT_DOMAIN else domain


def _insecure(domain: str, extra: Iterable[str]) -> bool:
    host = domain.split(":")[0]
    return host in ("localhost", "127.0.0.1", "::1") or domain in set(extra)


# --- credentials ---------------------------------------------------------------------------

def config_path(environ: dict) -> Path:
    base = environ.get("BERTH_CONFIG") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".config", "berth")
    return Path(base) / "config.json"


def credentials(domain: str, environ: dict) -> tuple[str, str] | None:
    """(user, password) for a registry: berth's own config, then docker's."""
    home = environ.get("HOME") or os.path.expanduser("~")
    for path in (config_path(environ), Path(home) / ".docker" / "config.json"):
        auths = (read_json(path, {}) or {}).get("auths", {})
        for key in (domain, _api_host(domain), f"https://{domain}", "https://index.docker.io/v1/"
                    if domain == DEFAULT_DOMAIN else domain):
            entry = auths.get(key)
            if entry and entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                return user, password
    return None


def save_credentials(domain: str, user: str, password: str, environ: dict) -> Path:
    path = config_path(environ)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with locked(str(path) + ".lock"):
        data = read_json(path, {}) or {}
        data.setdefault("auths", {})[domain] = {
            "auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
        write_json(path, data)
    os.chmod(path, 0o600)
    return path


def remove_credentials(domain: str, environ: dict) -> bool:
    path = config_path(environ)
    with locked(str(path) + ".lock"):
        data = read_json(path, {}) or {}
        found = data.get("auths", {}).pop(domain, None) is not None
        write_json(path, data)
    return found


# --- the HTTP session ----------------------------------------------------------------------

class _Redirect(urllib.request.HTTPRedirectHandler):
    """Blob downloads redirect to storage with signed URLs: don't send our token there."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != \
                urllib.parse.urlsplit(req.full_url).netloc:
            new.headers.pop("Authorization", None)
            new.unredirected_hdrs.pop("Authorization", None)
        return new


_OPENER = urllib.request.build_opener(_Redirect, urllib.request.HTTPSHandler(
    context=ssl.create_default_context()))

@dataclass
class Response:
    status: int
    headers: dict
    body: object  # a file-like object, or bytes


class Session:
    """Requests to one registry, answering its auth challenges."""

    def __init__(self, domain: str, environ: dict, insecure: Iterable[str] = ()) -> None:
        self.domain = domain
        scheme = "http" if _insecure(domain, insecure) else "https"
        self.base = f"{scheme}://{_api_host(domain)}"
        self.creds = credentials(domain, environ)
        self.tokens: dict[str, str] = {}  # scope -> bearer token
        self.basic = False

    def _auth_header(self, scope: str) -> dict:
        if scope in self.tokens:
            return {"Authorization": f"Bearer {self.tokens[scope]}"}
        if self.basic and self.creds:
            raw = base64.b64encode(f"{self.creds[0]}:{self.creds[1]}".encode()).decode()
            return {"Authorization": f"Basic {raw}"}
        return {}

    def request(self, method: str, url: str, scope: str, headers: dict | None = None,
                data: bytes | None = None, stream: bool = False, ok=(200,)) -> Response:
        full = url if url.startswith("http") else self.base + url
        for attempt in range(2):
            req = urllib.request.Request(full, data=data, method=method,
                                         headers={**(headers or {}), **self._auth_header(scope)})
            try:
                resp = _OPENER.open(req, timeout=60)
            except urllib.error.HTTPError as err:
                if err.code == 401 and attempt == 0:
                    self._authenticate(err.headers.get("WWW-Authenticate", ""), scope)
                    continue
                if err.code in ok:
                    return Response(err.code, dict(err.headers), err)
                raise RegistryError(self._describe(err, method, full)) from None
            except urllib.error.URLError as err:
                raise RegistryError(f"cannot reach registry {self.domain}: {err.reason}") from None
            except OSError as err:
                raise RegistryError(f"cannot reach registry {self.domain}: {err}") from None
            if resp.status not in ok:
                raise RegistryError(f"{method} {full}: unexpected status {resp.status}")
            return Response(resp.status, dict(resp.headers), resp if stream else resp.read())
        raise RegistryError(f"registry {self.domain}: authentication failed (check "
                            f"'berth login {self.domain}')")

    def _describe(self, err: urllib.error.HTTPError, method: str, url: str) -> str:
        detail = ""
        try:
            errors = json.loads(err.read() or b"{}").get("errors") or []
            detail = "; ".join(e.get("message", e.get("code", "")) for e in errors)
        except (ValueError, AttributeError):
            pass
        if err.code == 401:
            return f"registry {self.domain}: unauthorized ({detail or 'login needed'})"
        if err.code == 404:
            return f"not found in {self.domain}: {detail or url}"
        return f"{method} {url}: {err.code} {detail or err.reason}"

    def _authenticate(self, challenge: str, scope: str) -> None:
        kind, _, params = challenge.partition(" ")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        if kind.lower() == "basic":
            if not self.creds:
                raise RegistryError(f"registry {self.domain} needs a login: berth login {self.domain}")
            self.basic = True
            return
        if kind.lower() != "bearer" or "realm" not in fields:
            raise RegistryError(f"registry {self.domain}: unsupported authentication {challenge!r}")
        query = {"service": fields.get("service", "")}
        if scope:
            query["scope"] = scope
        url = fields["realm"] + "?" + urllib.parse.urlencode(query)
        headers = {}
        if self.creds:
            raw = base64.b64encode(f"{self.creds[0]}:{self.creds[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {raw}"
        try:
            with _OPENER.open(urllib.request.Request(url, headers=headers), timeout=30) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise RegistryError(f"registry {self.domain}: token request refused ({err.code})") from None
        except (urllib.error.URLError, OSError) as err:
            raise RegistryError(f"registry {self.domain}: cannot get a token: {err}") from None
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"registry {self.domain}: the token service gave no token")
        self.tokens[scope] = token


# --- pull ----------------------------------------------------------------------------------

def _platform(spec: str | None) -> tuple[str, str, str | None]:
    if not spec:
        return "linux", imageconfig.host_arch(), None
    parts = spec.split("/")
    return parts[0], parts[1] if len(parts) > 1 else imageconfig.host_arch(), \
        parts[2] if len(parts) > 2 else None


class Registry:
    """Pull and push for one image store."""

    def __init__(self, store: ImageStore, environ: dict, insecure: Iterable[str] = (),
                 parallel: int = DEFAULT_PARALLEL) -> None:
        self.store = store
        self.environ = environ
        self.insecure = list(insecure)
        self.parallel = parallel
        self.sessions: dict[str, Session] = {}

    def session(self, domain: str) -> Session:
        if domain not in self.sessions:
            self.sessions[domain] = Session(domain, self.environ, self.insecure)
        return self.sessions[domain]

    def _manifest(self, ref: Reference, target: str, platform: str | None) -> tuple[dict, str, bytes]:
        session = self.session(ref.domain)
        scope = f"repository:{ref.path}:pull"
        resp = session.request("GET", f"/v2/{ref.path}/manifests/{target}", scope,
                               {"Accept": ", ".join(MANIFEST_TYPES)})
        raw = resp.body  # type: ignore[assignment]
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()  # type: ignore[arg-type]
        if target.startswith("sha256:") and digest != target:
            raise RegistryError(f"manifest digest mismatch for {ref}: got {digest}")
        doc = json.loads(raw)  # type: ignore[arg-type]
        media = doc.get("mediaType") or resp.headers.get("Content-Type", "").split(";")[0]
        if media in INDEX_TYPES or "manifests" in doc:
            os_, arch, variant = _platform(platform)
            for entry in doc.get("manifests", []):
                plat = entry.get("platform") or {}
                if plat.get("os") == os_ and plat.get("architecture") == arch and \
                        (variant is None or plat.get("variant") == variant):
                    return self._manifest(ref, entry["digest"], platform)
            available = ", ".join(f"{m.get('platform', {}).get('os')}/"
                                  f"{m.get('platform', {}).get('architecture')}"
                                  for m in doc.get("manifests", []))
            raise RegistryError(f"{ref.familiar()}: no image for {os_}/{arch} "
                                f"(available: {available})")
        if doc.get("schemaVersion") != 2 or "config" not in doc:
            raise RegistryError(f"{ref.familiar()}: unsupported manifest type {media!r}")
        return doc, digest, raw  # type: ignore[return-value]

    def _fetch_blob(self, ref: Reference, descriptor: dict, progress: Progress | None) -> str:
        """Download one blob into the store (once, resumable, verified)."""
        digest = descriptor["digest"]
        if self.store.has_blob(digest):
            if progress:
                progress(digest, "Already exists", descriptor.get("size", 0), descriptor.get("size", 0))
            return digest
        with locked(self.store.paths.locks / f"blob-{digest_hex(digest)[:32]}.lock"):
            if self.store.has_blob(digest):
                return digest
            partial = self.store.tmp / f"partial-{digest_hex(digest)}"
            have = partial.stat().st_size if partial.exists() else 0
            hashed = hashlib.sha256()  # as it arrives: the file is not read a second time
            if have:
                with open(partial, "rb") as earlier:
                    while chunk := earlier.read(1 << 20):
                        hashed.update(chunk)
            headers = {"Range": f"bytes={have}-"} if have else {}
            resp = self.session(ref.domain).request(
                "GET", f"/v2/{ref.path}/blobs/{digest}", f"repository:{ref.path}:pull", headers,
                stream=True, ok=(200, 206))
            if resp.status == 200:
                have, hashed = 0, hashlib.sha256()  # the registry ignored the range: start over
            total = descriptor.get("size", 0)
            with open(partial, "ab" if have else "wb") as out, resp.body:  # type: ignore[union-attr]
                done = have
                while chunk := resp.body.read(1 << 20):  # type: ignore[union-attr]
                    out.write(chunk)
                    hashed.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(digest, "Downloading", done, total)
            try:
                self.store.adopt_blob(partial, digest, "sha256:" + hashed.hexdigest())
            except ValueError as err:
                partial.unlink()
                raise RegistryError(f"{ref.familiar()}: {err}") from None
        if progress:
            progress(digest, "Download complete", descriptor.get("size", 0), descriptor.get("size", 0))
        return digest

    def pull(self, name: str, platform: str | None = None,
             progress: Progress | None = None) -> Image:
        ref = parse(name)
        manifest, manifest_digest, raw = self._manifest(ref, ref.digest or ref.tag or "latest",
                                                        platform)
        self._fetch_blob(ref, manifest["config"], None)
        config = self.store.read_json_blob(manifest["config"]["digest"])
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        layers = manifest.get("layers", [])
        if len(diff_ids) != len(layers):
            raise RegistryError(f"{ref.familiar()}: the manifest and its config disagree on layers")

        def fetch(pair: tuple[dict, str]) -> None:
            descriptor, diff_id = pair
            self._fetch_blob(ref, descriptor, progress)
            if progress:
                progress(descriptor["digest"], "Extracting", 0, 0)
            self.store.ensure_layer(descriptor["digest"], diff_id)
            if progress:
                progress(descriptor["digest"], "Pull complete", descriptor.get("size", 0),
                         descriptor.get("size", 0))

        with ThreadPoolExecutor(max_workers=max(1, self.parallel)) as pool:
            for future in [pool.submit(fetch, pair) for pair in zip(layers, diff_ids)]:
                future.result()
        manifest = dict(manifest, mediaType="application/vnd.oci.image.manifest.v1+json")
        names = [str(Reference(ref.domain, ref.path, ref.tag, None))] if ref.tag else []
        image = self.store.add_manifest(manifest, names)
        eventlog.record(self.store.paths.root, "image", "pull", image.id, {"name": name})
        return image

    # --- push ------------------------------------------------------------------------------

    def _blob_exists(self, ref: Reference, digest: str, scope: str) -> bool:
        resp = self.session(ref.domain).request("HEAD", f"/v2/{ref.path}/blobs/{digest}", scope,
                                                ok=(200, 404))
        return resp.status == 200

    def _upload(self, ref: Reference, digest: str, path: Path, scope: str,
                progress: Progress | None) -> None:
        session = self.session(ref.domain)
        if self._blob_exists(ref, digest, scope):
            if progress:
                progress(digest, "Layer already exists", 0, 0)
            return
        resp = session.request("POST", f"/v2/{ref.path}/blobs/uploads/", scope, ok=(202,))
        location = resp.headers.get("Location") or resp.headers.get("location")
        if not location:
            raise RegistryError(f"registry {ref.domain} gave no upload location")
        if not location.startswith("http"):
            location = session.base + location
        sep = "&" if "?" in location else "?"
        size = path.stat().st_size
        if progress:
            progress(digest, "Pushing", 0, size)
        with open(path, "rb") as data:
            session.request("PUT", f"{location}{sep}digest={digest}", scope,
                            {"Content-Type": "application/octet-stream",
                             "Content-Length": str(size)}, data=data, ok=(201, 204))  # type: ignore[arg-type]
        if progress:
            progress(digest, "Pushed", size, size)

    def push(self, name: str, progress: Progress | None = None) -> str:
        """Push an image from the store under `name`; returns the manifest digest."""
        ref = parse(name)
        image = self.store.get(name)
        scope = f"repository:{ref.path}:pull,push"
        for layer in image.layers:
            self._upload(ref, layer["digest"], self.store.blob_path(layer["digest"]), scope, progress)
        self._upload(ref, image.id, self.store.blob_path(image.id), scope, None)
        raw = self.store.blob_path(image.manifest_digest).read_bytes()
        self.session(ref.domain).request(
            "PUT", f"/v2/{ref.path}/manifests/{ref.tag or 'latest'}", scope,
            {"Content-Type": image.manifest.get("mediaType",
                                                "application/vnd.oci.image.manifest.v1+json")},
            data=raw, ok=(201, 202))
        return image.manifest_digest

    def login(self, domain: str, user: str, password: str) -> None:
        """Check credentials against the registry (raises when refused)."""
        session = Session(domain, self.environ, self.insecure)
        session.creds = (user, password)
        session.request("GET", "/v2/", "", ok=(200,))
