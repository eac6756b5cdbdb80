"""The simulator's HTTP server: `/<platform>/...` goes to that platform's module, `/_control/<platform>/<op>` to its
control API. ThreadingHTTPServer, so a deliberately slow answer (a timeout fault) holds up nobody else."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from django.utils.module_loading import import_string

from marketplaces.simulator.base import PlatformSim

logger = logging.getLogger(__name__)

# One module per platform; a platform whose module is not there yet is simply not served.
PLATFORMS = {
    "taobao": "marketplaces.simulator.taobao.TaobaoSim",
    "douyin": "marketplaces.simulator.douyin.DouyinSim",
    "jd": "marketplaces.simulator.jd.JdSim",
    "wechat": "marketplaces.simulator.wechat.WechatSim",
    "pinduoduo": "marketplaces.simulator.pinduoduo.PinduoduoSim",
}


class SimulatorServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, platforms=None):
        self.platforms: dict[str, PlatformSim] = {}
        for name in platforms or PLATFORMS:
            try:
                cls = import_string(PLATFORMS[name])
            except ImportError:
                logger.info("no simulator module for %s yet", name)
                continue
            self.platforms[name] = cls(self)
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def platform_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    def start(self) -> "SimulatorServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="marketplace-simulator", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        for platform in self.platforms.values():
            if hasattr(platform, "stop"):
                platform.stop()  # its open WebSockets (PDD's PMC)
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler_for(server: SimulatorServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The headers and the body go out in two writes: without TCP_NODELAY each answer waits ~40 ms for the
        # client's delayed ACK (Nagle), which a platform read once per record (WeChat shop) pays on every record.
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            logger.debug(format, *args)

        def do_GET(self):
            segments = [segment for segment in urlsplit(self.path).path.split("/") if segment]
            platform = server.platforms.get(segments[0]) if segments else None
            if self.headers.get("Upgrade", "").lower() == "websocket" and hasattr(platform, "websocket"):
                # A platform whose pushes travel on a WebSocket the desk opens (PDD's PMC) takes the socket over.
                self.close_connection = True
                platform.websocket("/" + "/".join(segments[1:]), self.connection, dict(self.headers.items()))
                return
            self._serve()

        def do_POST(self):
            self._serve()

        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            segments = [segment for segment in parts.path.split("/") if segment]
            try:
                if segments[:1] == ["_control"] and len(segments) == 3:
                    platform = server.platforms[segments[1]]
                    data = json.loads(body or b"{}")
                    status, headers, payload = PlatformSim.json_response(platform.control(segments[2], data))
                elif segments and segments[0] in server.platforms:
                    platform = server.platforms[segments[0]]
                    subpath = "/" + "/".join(segments[1:])
                    status, headers, payload = platform.handle(
                        subpath, dict(parse_qsl(parts.query)), dict(self.headers.items()), body
                    )
                else:
                    status, headers, payload = PlatformSim.json_response({"error": "no such platform"}, 404)
            except (KeyError, ValueError) as error:
                status, headers, payload = PlatformSim.json_response({"error": repr(error)}, 400)
            except BrokenPipeError:
                return
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout fault): what was done stays done

    return Handler
