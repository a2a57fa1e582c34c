"""Server-side capture ("Capture now"): load a public post page in headless Chromium and keep what it showed.

A capture is a job (`Capture` row, a Huey task "capture"): Debian's `chromium` driven by Playwright (no browser
download), through `CAPTURE_PROXY` when set, within `CAPTURE_TIMEOUT` seconds. What it keeps, each through
`evidence.add_evidence_file` (hashed on arrival, sniffed, stored write-once, a custody event each):
a full-page screenshot (PNG), an MHTML snapshot (CDP `Page.captureSnapshot`) and a WACZ of the page load
(every response recorded as WARC records with warcio, packaged and indexed by py-wacz).

A login or consent wall, an error page, a 404 or an empty shell is recognised and reported, never stored as
evidence of the post (its screenshot is kept, withdrawn, only when the person asked for a diagnostic).

SSRF: every request the page makes (the page itself, each redirect hop, each subresource) goes through one
route handler that resolves the host and refuses loopback, private, link-local (cloud metadata), multicast and
reserved addresses, unless `CAPTURE_ALLOW_PRIVATE` lists that address (and port). Redirects are followed one
hop at a time by the handler, so each hop is checked before it is fetched. Not covered: DNS rebinding (the
check and the fetch look the name up separately); with CAPTURE_PROXY the proxy makes the second lookup.
"""

import contextlib
import io
import ipaddress
import shutil
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from flask import Flask, current_app
from sqlalchemy import func, update

from ..extensions import db
from ..models import Capture, Entry, User
from ..models._common import utcnow
from .custody import record
from .errors import ServiceError
from .reviews import check_open, ensure_open

METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"),
            ipaddress.ip_network("100.100.100.200/32"))  # AWS/GCP/Azure, AWS IPv6, Alibaba
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
               "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"]  # WebRTC could reach around the routes
VIEWPORT = {"width": 1280, "height": 900}
MAX_SHOT_HEIGHT = 16000  # pixels of a full-page screenshot (an endless feed is cut here)
MAX_REDIRECTS = 10
MAX_RESPONSE_BYTES = 30 * 1024 * 1024  # a larger response is not kept in the web archive
LOGIN_WORDS = ("log in", "login", "sign in", "sign up", "create an account", "create account", "accept cookies",
               "before you continue", "verify you are human", "join now")
LOGIN_PATHS = ("/login", "/signin", "/sign-in", "/accounts/login", "/i/flow/login", "/checkpoint", "/consent",
               "/authwall", "/challenge")


class CaptureError(ServiceError):
    pass


# ---------------------------------------------------------------------------------------------- the address rule
def allowed_addresses(config) -> set[str]:
    """CAPTURE_ALLOW_PRIVATE: addresses ("10.0.0.5") or address:port pairs ("127.0.0.1:8123") the operator lets
    captures reach although private; a list, or one comma-separated string."""
    value = config.get("CAPTURE_ALLOW_PRIVATE") or []
    if isinstance(value, str):
        value = value.split(",")
    return {v.strip().lower() for v in value if v and v.strip()}


def address_problem(ip: str, port: int, allowed: set[str]) -> str | None:
    """Why this address may not be fetched, or None."""
    try:
        addr = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return f"{ip} is not an address"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    shown = f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"
    if str(addr) in allowed or shown.lower() in allowed:
        return None
    if any(addr in net for net in METADATA):
        return f"{addr} is a cloud metadata address"
    if addr.is_loopback:
        return f"{addr} is this server (loopback)"
    if addr.is_link_local:
        return f"{addr} is a link-local address"
    if addr.is_private or addr.is_multicast or addr.is_reserved or addr.is_unspecified or not addr.is_global:
        return f"{addr} is a private or reserved address"
    return None


def host_problem(url: str, allowed: set[str]) -> str | None:
    """Resolve the host of `url` and check every address it has; None when all may be fetched."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "the address cannot be read"
    if parts.scheme not in ("http", "https"):
        return f"{parts.scheme}: addresses are not fetched"
    if not host:
        return "the address has no host"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return f"{host} could not be resolved"
    for *_, sockaddr in infos:
        problem = address_problem(sockaddr[0], port, allowed)
        if problem:
            return f"{host}: {problem}"
    return None


# ---------------------------------------------------------------------------------------------- the page load
@dataclass
class Loaded:
    outcome: str
    message: str
    browser: str = ""
    user_agent: str = ""
    final_url: str = ""
    http_status: int | None = None
    screenshot: Path | None = None
    mhtml: Path | None = None
    wacz: Path | None = None
    refused: list[str] = field(default_factory=list)


@dataclass
class _Exchange:
    url: str
    method: str
    request_headers: dict
    status: int
    status_text: str
    headers: list[tuple[str, str]]
    body: bytes
    at: datetime


def proxy_label(proxy: str) -> str:
    """The proxy as the record names it: scheme, host and port, never a user name or password."""
    if not proxy:
        return ""
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def _proxy_settings(proxy: str) -> dict | None:
    if not proxy:
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    settings = {"server": f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"}
    if parts.username:
        settings.update(username=parts.username, password=parts.password or "")
    return settings


def load_page(url: str, folder: Path, *, proxy: str = "", timeout: float = 30,
              allowed: set[str] = frozenset(), executable: str | None = None) -> Loaded:
    """Load `url` and write screenshot.png, page.mhtml and page.wacz into `folder` (when it showed something);
    say what was found. Never raises for what the page did: every failure is an outcome."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    if proxy and not _answers(proxy):
        return Loaded("error", f"The capture proxy {proxy_label(proxy)} does not answer: nothing was loaded.")
    problem = host_problem(url, allowed)
    if problem:
        return Loaded("refused", f"Refused: {problem}. Captures never reach this server's own network.",
                      refused=[problem])
    executable = executable or shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        return Loaded("error", "No chromium on this server (install Debian's chromium package).")
    exchanges: list[_Exchange] = []
    refused: list[str] = []
    limit_ms = timeout * 1000

    hop: dict = {}  # the main frame's pending redirect, followed by load_page itself (checked first)

    def fetch(route, address: str):
        """One request, redirects followed here one hop at a time, each hop's host checked before it is asked
        (Chromium follows a redirect it is handed without routing the next request: never hand it one)."""
        request = route.request
        for _ in range(MAX_REDIRECTS + 1):
            why = host_problem(address, allowed)
            if why:
                refused.append(why)
                return None
            response = route.fetch(url=address, max_redirects=0, timeout=limit_ms)
            body = response.body()
            if len(body) <= MAX_RESPONSE_BYTES:
                exchanges.append(_Exchange(address, request.method, request.headers, response.status,
                                           response.status_text, response.headers_array, body, datetime.now(UTC)))
            location = response.headers.get("location")
            if not (300 <= response.status < 400 and location):
                return response, body
            address = urljoin(address, location)
            if request.is_navigation_request() and request.frame.parent_frame is None:
                hop["next"] = address  # the page's own address changes: load_page navigates there
                return None
        refused.append(f"more than {MAX_REDIRECTS} redirects")
        return None

    def route(route):
        if route.request.url.startswith(("data:", "blob:")):
            return route.continue_()
        try:
            got = fetch(route, route.request.url)
        except PlaywrightError:
            return route.abort("failed")
        if got is None and "next" in hop:
            return route.fulfill(status=204, body=b"")  # no navigation: load_page goes to the next hop itself
        if got is None:
            return route.abort("blockedbyclient")
        response, body = got
        return route.fulfill(response=response, body=body)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS,
                                     proxy=_proxy_settings(proxy), timeout=limit_ms)
        try:
            context = browser.new_context(viewport=VIEWPORT, service_workers="block", accept_downloads=False)
            context.route("**/*", route)
            context.route_web_socket("**/*", lambda ws: ws.close())  # no WebSocket reaches any server
            page = context.new_page()
            loaded = Loaded("error", "", browser=f"Chromium {browser.version}",
                            user_agent=page.evaluate("navigator.userAgent"))
            try:
                response, address = None, url
                for _ in range(MAX_REDIRECTS + 1):
                    hop.clear()
                    try:
                        response = page.goto(address, wait_until="load", timeout=limit_ms)
                    except PlaywrightError:
                        if "next" not in hop:  # a redirect hop answers 204 (no navigation): not an error
                            raise
                    if "next" not in hop:
                        break
                    address = hop["next"]
                else:
                    refused.append(f"more than {MAX_REDIRECTS} redirects")
                    raise PlaywrightError("too many redirects")
            except PlaywrightTimeout:
                loaded.outcome, loaded.message = "timeout", f"The page did not load in {timeout:g} seconds."
                return loaded
            except PlaywrightError as exc:
                loaded.refused = refused
                if refused:
                    loaded.outcome = "refused"
                    loaded.message = f"Refused: {refused[0]}. Captures never reach this server's own network."
                else:
                    loaded.message = f"The page could not be loaded: {str(exc).splitlines()[0][:300]}"
                return loaded
            with contextlib.suppress(PlaywrightError):
                page.wait_for_load_state("networkidle", timeout=min(limit_ms, 3000))
            loaded.final_url = page.url
            loaded.http_status = response.status if response else None
            loaded.refused = refused
            if refused and _main_refused(refused, loaded):
                loaded.outcome = "refused"
                loaded.message = f"Refused: {refused[0]}. Captures never reach this server's own network."
                return loaded
            text = page.evaluate("document.body ? document.body.innerText : ''") or ""
            has_password = page.evaluate("!!document.querySelector('input[type=password]')")
            loaded.outcome, loaded.message = judge(loaded.http_status, loaded.final_url, text, has_password)
            shot = folder / "screenshot.png"
            height = page.evaluate("Math.max(document.documentElement.scrollHeight, document.body ? "
                                   "document.body.scrollHeight : 0)") or VIEWPORT["height"]
            if height > MAX_SHOT_HEIGHT:
                page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": VIEWPORT["width"],
                                                      "height": MAX_SHOT_HEIGHT}, full_page=True)
            else:
                page.screenshot(path=str(shot), full_page=True)
            loaded.screenshot = shot
            if loaded.outcome == "captured":
                cdp = context.new_cdp_session(page)
                snapshot = cdp.send("Page.captureSnapshot", {"format": "mhtml"})["data"]
                loaded.mhtml = folder / "page.mhtml"
                loaded.mhtml.write_bytes(snapshot.encode("utf-8", "surrogateescape"))
                loaded.wacz = write_wacz(exchanges, loaded.final_url, folder)
            return loaded
        finally:
            browser.close()


def _answers(proxy: str) -> bool:
    """Whether the proxy accepts a connection (a dead proxy is said at once, not after the page's time limit)."""
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        with socket.create_connection((parts.hostname, parts.port or 1080), timeout=5):
            return True
    except (OSError, ValueError):
        return False


def _main_refused(refused: list[str], loaded: Loaded) -> bool:
    """A refused subresource (a tracking pixel on a private address) does not spoil the capture; the page did."""
    host = urlsplit(loaded.final_url).hostname or ""
    return loaded.final_url.startswith("chrome-error:") or any(r.startswith(f"{host}:") for r in refused)


def judge(status: int | None, final_url: str, text: str, has_password: bool) -> tuple[str, str]:
    """What the page shows, from its final address, its status and its text: only a page that looks like the
    post counts as captured."""
    words = " ".join(text.lower().split())
    path = urlsplit(final_url).path.lower()
    host = urlsplit(final_url).hostname or ""
    wall = "login wall: capture it with the browser extension (it sees what you see when logged in)."
    if status in (404, 410):
        return "not_found", f"Not found ({status}): the post may have been removed, or the address is wrong."
    if status in (401, 403) or any(path.startswith(p) for p in LOGIN_PATHS) or host.startswith("consent."):
        return "login_wall", f"The page is a {wall}"
    count = len(words.split())  # a wall is short; a post page may carry "Sign in" in its header too
    if has_password and count < 300:
        return "login_wall", f"The page asks for a password: a {wall}"
    if count < 150 and sum(w in words for w in LOGIN_WORDS) >= 2:
        return "login_wall", f"The page asks to log in or accept cookies: a {wall}"
    if status is not None and status >= 400:
        return "error", f"The platform answered {status}: an error page, not the post."
    if len(words) < 20:
        return "error", "The page is empty (no text): nothing of the post was shown to a server."
    return "captured", "Captured: screenshot, MHTML snapshot and web archive stored."


def write_wacz(exchanges: list[_Exchange], final_url: str, folder: Path) -> Path:
    """The page load as a WACZ: warcio writes each request and response as WARC records, py-wacz packages and
    indexes them (index, pages, datapackage with each file's hash)."""
    from wacz.main import main as wacz_main
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    warc = folder / "capture.warc.gz"
    with warc.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for ex in exchanges:
            parts = urlsplit(ex.url)
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            when = ex.at.strftime("%Y-%m-%dT%H:%M:%SZ")
            # Playwright hands the body decoded: the headers must not claim an encoding it no longer has
            headers = [(k, v) for k, v in ex.headers
                       if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")]
            headers.append(("Content-Length", str(len(ex.body))))
            response = writer.create_warc_record(
                ex.url, "response", payload=io.BytesIO(ex.body), length=len(ex.body),
                http_headers=StatusAndHeaders(f"{ex.status} {ex.status_text or 'OK'}", headers,
                                              protocol="HTTP/1.1"),
                warc_headers_dict={"WARC-Date": when})
            request = writer.create_warc_record(
                ex.url, "request", payload=io.BytesIO(b""), length=0,
                http_headers=StatusAndHeaders(f"{ex.method} {target} HTTP/1.1",
                                              [(k, v) for k, v in ex.request_headers.items()
                                               if k.lower() != "cookie"], is_http_request=True),
                warc_headers_dict={"WARC-Date": when})
            writer.write_request_response_pair(request, response)
    out = folder / "page.wacz"
    with contextlib.redirect_stdout(io.StringIO()):  # py-wacz reports its steps on stdout
        code = wacz_main(["create", "-o", str(out), str(warc), "--detect-pages", "--title",
                          f"reportkit capture of {final_url}"[:200]])
    if code:
        raise CaptureError("The web archive could not be packaged.")
    return out


# ---------------------------------------------------------------------------------------------- the job
def request_capture(actor: User, entry: Entry, keep_diagnostic: bool = False) -> Capture:
    """"Capture now": a queued capture job of the entry's address (a custody event), then the task."""
    check_open(entry)
    busy = db.session.scalar(db.select(Capture).where(Capture.entry_id == entry.id,
                                                      Capture.status.in_(("queued", "running"))).limit(1))
    if busy is not None and expire_stalled(busy).status in ("queued", "running"):
        raise CaptureError("A capture of this entry is already under way: wait for its result.", status=409)
    ensure_open(entry)
    app = current_app._get_current_object()
    capture = Capture(entry_id=entry.id, requested_by_id=actor.id, url=entry.canonical_url,
                      keep_diagnostic=bool(keep_diagnostic), proxy_label=proxy_label(app.config.get("CAPTURE_PROXY")),
                      evidence_ids=[])
    db.session.add(capture)
    db.session.flush()
    record(actor, entry.case_id, "capture.requested", f"entry:{entry.number}",
           {"capture": capture.id, "url": capture.url, "proxy": capture.proxy_label,
            "keep_diagnostic": capture.keep_diagnostic}, entry_id=entry.id)
    db.session.commit()
    from . import queue

    queue.enqueue(app, "capture", capture.id)
    return capture


def claim_capture(capture_id: int) -> bool:
    """queued -> running in one conditional UPDATE; False: another worker has it, or it is finished."""
    now = utcnow()
    taken = db.session.execute(update(Capture).where(Capture.id == capture_id, Capture.status == "queued").values(
        status="running", started_at=now, updated_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(taken)


def expire_stalled(capture: Capture) -> Capture:
    """A capture whose worker stopped (queued or running for longer than a capture may take, plus a grace period)
    is failed with the reason, in one conditional UPDATE (a capture finishing meanwhile keeps its result)."""
    if capture.status not in ("queued", "running"):
        return capture
    limit = float(current_app.config["CAPTURE_TIMEOUT"]) * 4 + 120
    cutoff = utcnow() - timedelta(seconds=limit)
    stopped = db.session.execute(update(Capture).where(
        Capture.id == capture.id, Capture.status == capture.status,
        func.coalesce(Capture.updated_at, Capture.created_at) < cutoff).values(
        status="failed", outcome="error", finished_at=utcnow(),
        message="Interrupted: the worker running it stopped, or no worker took it. Start it again.")
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if stopped:
        db.session.refresh(capture)
    return capture


def run_capture_job(app: Flask, capture_id: int) -> None:
    """The "capture" task."""
    with app.app_context():
        try:
            if not claim_capture(capture_id):
                app.logger.info("capture %s is not queued: nothing to do", capture_id)
                return
            perform_capture(app, db.session.get(Capture, capture_id))
        except Exception as exc:  # noqa: BLE001 - said on the row; logged for the operator
            db.session.rollback()
            app.logger.exception("capture %s failed", capture_id)
            _fail(capture_id, f"The capture failed: {type(exc).__name__}: {str(exc)[:300]}")
        finally:
            db.session.remove()


def _fail(capture_id: int, message: str) -> None:
    db.session.execute(update(Capture).where(Capture.id == capture_id, Capture.status == "running").values(
        status="failed", outcome="error", message=message, finished_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.commit()


def perform_capture(app: Flask, capture: Capture) -> Capture:
    """Load the page (no lock held), store what it showed as evidence (each file its own unit of work), then
    finish the row, the entry's capture fields and the custody event together."""
    from .evidence import Limits, add_evidence_file, withdraw_evidence
    from .storage import app_store, private_temp_dir, temp_root

    entry, actor = capture.entry, capture.requested_by
    if actor is None:
        raise CaptureError("The person who asked for this capture no longer has an account.")
    proxy = app.config.get("CAPTURE_PROXY") or ""
    with private_temp_dir(temp_root(app), f"rk-capture-{capture.id}-") as folder:
        loaded = load_page(capture.url, Path(folder), proxy=proxy, timeout=float(app.config["CAPTURE_TIMEOUT"]),
                           allowed=allowed_addresses(app.config))
        store, limits = app_store(app), Limits.from_config(app.config)
        made: list[int] = []
        stem = f"capture-{capture.id}"
        if loaded.outcome == "captured":
            for path, name in ((loaded.screenshot, f"{stem}.png"), (loaded.mhtml, f"{stem}.mhtml"),
                               (loaded.wacz, f"{stem}.wacz")):
                with path.open("rb") as fh:
                    made.append(add_evidence_file(actor, entry, fh, name, store, limits).id)
        elif loaded.screenshot is not None and capture.keep_diagnostic:
            with loaded.screenshot.open("rb") as fh:
                shot = add_evidence_file(actor, entry, fh, f"{stem}-diagnostic.png", store, limits)
            withdraw_evidence(actor, shot, f"Diagnostic only, not evidence of the post: {loaded.message}")
            made.append(shot.id)
    return _finish(actor, capture, loaded, made)


def _finish(actor: User, capture: Capture, loaded: Loaded, made: list[int]) -> Capture:
    entry = capture.entry
    if loaded.outcome == "captured":
        ensure_open(entry)  # the case lock (and a sealed entry refuses the field changes below)
    db.session.refresh(capture)
    capture.status = "done"
    capture.outcome, capture.message = loaded.outcome, loaded.message
    capture.browser, capture.user_agent = loaded.browser[:100], loaded.user_agent[:500]
    capture.final_url, capture.http_status = loaded.final_url[:2048], loaded.http_status
    capture.evidence_ids = made
    capture.finished_at = utcnow()
    if loaded.outcome == "captured":
        before = entry.snapshot()
        if not entry.capture_method:
            entry.capture_method = "automated"
        if not entry.network_route.strip() and capture.proxy_label:
            entry.network_route = f"proxy {capture.proxy_label}"[:200]
        after = entry.snapshot()
        changed = {k: [before[k], after[k]] for k in after if after[k] != before[k]}
        if changed:
            record(actor, entry.case_id, "entry.edited", f"entry:{entry.number}", changed,
                   f"server-side capture {capture.id}", entry_id=entry.id)
    record(actor, entry.case_id, "capture.finished", f"entry:{entry.number}",
           {"capture": capture.id, "outcome": loaded.outcome, "method": "automated", "browser": capture.browser,
            "user_agent": capture.user_agent, "final_url": capture.final_url, "http_status": capture.http_status,
            "proxy": capture.proxy_label, "evidence": made,
            "started_at": capture.started_at.isoformat() if capture.started_at else None,
            "finished_at": capture.finished_at.isoformat()}, loaded.message, entry_id=entry.id)
    db.session.commit()
    return capture


def capture_row(capture: Capture) -> dict:
    """What the API and the page say about a capture."""
    from ..models import Evidence

    files = [db.session.get(Evidence, i) for i in capture.evidence_ids or []]
    return {"id": capture.id, "entry_id": capture.entry_id, "status": capture.status,
            "outcome": capture.outcome or None, "message": capture.message, "method": "automated",
            "url": capture.url, "final_url": capture.final_url or None, "http_status": capture.http_status,
            "browser": capture.browser or None, "user_agent": capture.user_agent or None,
            "proxy": capture.proxy_label or None,
            "created_at": capture.created_at.isoformat() if capture.created_at else None,
            "started_at": capture.started_at.isoformat() if capture.started_at else None,
            "finished_at": capture.finished_at.isoformat() if capture.finished_at else None,
            "evidence": [{"id": e.id, "kind": e.kind, "sha256": e.sha256, "size": e.size, "mime": e.mime,
                          "withdrawn": e.withdrawn_at is not None} for e in files if e is not None]}


def latest_capture(entry: Entry) -> Capture | None:
    capture = db.session.scalar(db.select(Capture).where(Capture.entry_id == entry.id)
                                .order_by(Capture.id.desc()).limit(1))
    return expire_stalled(capture) if capture is not None else None

