"""A stand-in for the Hugging Face Hub: a small HTTP server on 127.0.0.1 that speaks the part of the Hub's API that
``huggingface_hub`` 2.x uses to create a model repo, upload small files and download them again.

It is the service's side of the protocol, not a mock of our code: point ``HF_ENDPOINT`` at :attr:`HubStandIn.url` and
``huggingface_hub`` (and our code over it) runs unchanged. Served, for model repos only:

- ``POST /api/repos/create`` (409 when it exists, as the Hub answers ``exist_ok``), ``POST /api/validate-yaml``
  (the model card's front matter must be valid YAML);
- ``POST /api/models/<repo>/preupload/<rev>`` (every file ``regular``: small files go inline into the commit, no LFS
  or Xet storage) and ``POST /api/models/<repo>/commit/<rev>`` (the NDJSON commit: header, ``file`` and
  ``deletedFile`` lines);
- ``GET /api/models/<repo>[/revision/<rev>]`` (repo info with ``sha`` and ``siblings``),
  ``GET /api/models/<repo>/tree/<rev>[/<path>]`` (``recursive``; one page);
- ``HEAD``/``GET /<repo>/resolve/<rev>/<path>`` with the headers the client reads: ``X-Repo-Commit``, ``ETag`` (the git
  blob id), ``Content-Length``.

Errors carry the Hub's ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``), which
``huggingface_hub`` turns into its typed exceptions. Writes need ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

ZERO_COMMIT = "0" * 40


def git_blob_id(content: bytes) -> str:
    """The git blob sha1 of ``content``: what the Hub reports as a regular file's ``oid`` and ``ETag``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Repo:
    """One model repo: its commits (oldest first), each a full snapshot ``{path: bytes}``."""

    private: bool = False
    commits: list[tuple[str, dict[str, bytes]]] = field(default_factory=list)

    @property
    def head(self) -> tuple[str, dict[str, bytes]]:
        return self.commits[-1] if self.commits else (ZERO_COMMIT, {})

    def snapshot(self, revision: str) -> tuple[str, dict[str, bytes]] | None:
        if revision == "main":
            return self.head
        return next(((sha, files) for sha, files in self.commits if sha == revision), None)


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class HubStandIn:
    """The server: ``with HubStandIn(token) as hub: ... hub.url ...``; ``hub.repos`` holds what was pushed and
    ``hub.requests`` every ``(method, path)`` served, in order."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="hub-stand-in", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HubStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # ------------------------------------------------------------------ the API, one method per endpoint

    def repo(self, repo_id: str, *, authorized: bool) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and not authorized):
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def snapshot(self, repo_id: str, revision: str, *, authorized: bool) -> tuple[str, dict[str, bytes]]:
        found = self.repo(repo_id, authorized=authorized).snapshot(revision)
        if found is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return found

    def create_repo(self, body: dict) -> tuple[int, dict]:
        if body.get("type", "model") != "model":
            raise HubError(400, "this stand-in serves model repos only")
        repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
        url = f"{self.url}/{repo_id}"
        with self._lock:
            if repo_id in self.repos:
                return 409, {"error": "You already created this model repo", "url": url}
            self.repos[repo_id] = Repo(private=body.get("visibility") == "private" or bool(body.get("private")))
        return 200, {"url": url, "name": repo_id}

    @staticmethod
    def validate_yaml(body: dict) -> tuple[int, dict]:
        content = body.get("content", "")
        if not content.startswith("---\n"):
            return 200, {"errors": [], "warnings": [{"message": "empty or missing yaml metadata in repo card"}]}
        try:
            meta = yaml.safe_load(content.split("---\n", 2)[1])
        except (yaml.YAMLError, IndexError) as err:
            return 400, {"errors": [{"message": f"invalid YAML: {err}"}]}
        if not isinstance(meta, dict):
            return 400, {"errors": [{"message": "metadata must be a mapping"}]}
        return 200, {"errors": [], "warnings": []}

    def preupload(self, repo_id: str, revision: str, body: dict) -> dict:
        _, files = self.snapshot(repo_id, revision, authorized=True)
        return {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                           "oid": git_blob_id(files[f["path"]]) if f["path"] in files else None}
                          for f in body["files"]]}

    def commit(self, repo_id: str, revision: str, ndjson: bytes) -> dict:
        if revision != "main":
            raise HubError(400, "this stand-in commits to main only")
        lines = [json.loads(line) for line in ndjson.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "the commit payload must start with a header line")
        with self._lock:
            repo = self.repo(repo_id, authorized=True)
            parent, files = repo.head
            files = dict(files)
            for line in lines[1:]:
                key, value = line["key"], line["value"]
                if key == "file" and value.get("encoding") == "base64":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                else:
                    raise HubError(400, f"this stand-in does not take '{key}' commit lines (regular files only)")
            summary = lines[0]["value"].get("summary", "")
            sha = hashlib.sha1(json.dumps([parent, summary, sorted((p, git_blob_id(c)) for p, c in files.items())])
                               .encode()).hexdigest()
            repo.commits.append((sha, files))
        return {"commitUrl": f"{self.url}/{repo_id}/commit/{sha}", "commitOid": sha, "success": True}

    def repo_info(self, repo_id: str, revision: str, *, authorized: bool) -> dict:
        sha, files = self.snapshot(repo_id, revision, authorized=authorized)
        return {"id": repo_id, "modelId": repo_id, "sha": sha, "private": self.repos[repo_id].private,
                "tags": [], "siblings": [{"rfilename": path} for path in sorted(files)]}

    def tree(self, repo_id: str, revision: str, prefix: str, recursive: bool, *, authorized: bool) -> list[dict]:
        _, files = self.snapshot(repo_id, revision, authorized=authorized)
        base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        entries: dict[str, dict] = {}
        for path in sorted(files):
            if not path.startswith(base):
                continue
            parts = path[len(base):].split("/")
            for depth in range(1, len(parts)):  # the folders on the way
                folder = base + "/".join(parts[:depth])
                if recursive or depth == 1:
                    entries.setdefault(folder, {"type": "directory", "path": folder,
                                                "oid": hashlib.sha1(folder.encode()).hexdigest()})
            if recursive or len(parts) == 1:
                entries[path] = {"type": "file", "path": path, "size": len(files[path]), "oid": git_blob_id(files[path])}
        if base and not entries:
            raise HubError(404, f"{prefix} does not exist", "EntryNotFound")
        return list(entries.values())

    def resolve(self, repo_id: str, revision: str, path: str, *, authorized: bool) -> tuple[bytes, dict[str, str]]:
        sha, files = self.snapshot(repo_id, revision, authorized=authorized)
        if path not in files:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        content = files[path]
        return content, {"X-Repo-Commit": sha, "ETag": f'"{git_blob_id(content)}"',
                         "Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}


def _split_repo(parts: list[str]) -> tuple[str, list[str]]:
    """``[owner, name, *rest]`` -> ``("owner/name", rest)``."""
    if len(parts) < 2:
        raise HubError(404, "no such route")
    return f"{parts[0]}/{parts[1]}", parts[2:]


def _handler_for(hub: HubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (quiet: the test reads hub.requests)
            return

        @property
        def authorized(self) -> bool:
            return self.headers.get("Authorization", "") == f"Bearer {hub.token}"

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, *, head: bool = False) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            parts = [unquote(p) for p in url.path.split("/") if p]
            query = parse_qs(url.query)
            body = self._body() if method == "POST" else b""
            hub.requests.append((method, url.path))
            try:
                if method == "POST" and parts[:1] == ["api"] and not self.authorized:
                    raise HubError(401, "Invalid credentials in Authorization header")
                if method == "POST" and parts == ["api", "repos", "create"]:
                    self._json(*hub.create_repo(json.loads(body)))
                elif method == "POST" and parts == ["api", "validate-yaml"]:
                    self._json(*hub.validate_yaml(json.loads(body)))
                elif parts[:2] == ["api", "models"]:
                    repo_id, rest = _split_repo(parts[2:])
                    if method == "POST" and len(rest) == 2 and rest[0] == "preupload":
                        self._json(200, hub.preupload(repo_id, rest[1], json.loads(body)))
                    elif method == "POST" and len(rest) == 2 and rest[0] == "commit":
                        self._json(200, hub.commit(repo_id, rest[1], body))
                    elif method == "GET" and (not rest or (len(rest) == 2 and rest[0] == "revision")):
                        self._json(200, hub.repo_info(repo_id, rest[1] if rest else "main", authorized=self.authorized))
                    elif method == "GET" and len(rest) >= 2 and rest[0] == "tree":
                        recursive = query.get("recursive", ["False"])[0].lower() in ("1", "true")
                        self._json(200, hub.tree(repo_id, rest[1], "/".join(rest[2:]), recursive,
                                                 authorized=self.authorized))
                    else:
                        raise HubError(404, f"no such route: {method} {url.path}")
                elif method in ("GET", "HEAD") and len(parts) >= 5 and parts[2] == "resolve":
                    repo_id, rest = _split_repo(parts)
                    content, headers = hub.resolve(repo_id, rest[1], "/".join(rest[2:]), authorized=self.authorized)
                    self._send(200, content, headers, head=method == "HEAD")
                else:
                    raise HubError(404, f"no such route: {method} {url.path}")
            except HubError as err:
                headers = {"X-Error-Code": err.code} if err.code else {}
                headers["X-Error-Message"] = str(err)
                if method == "HEAD":
                    self._send(err.status, b"", headers, head=True)
                else:
                    self._json(err.status, {"error": str(err)}, headers)

        def do_GET(self) -> None:  # noqa: N802  (http.server's names)
            self._serve("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve("HEAD")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

    return Handler
