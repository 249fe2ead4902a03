"""The monitoring report: matrix + drift + plots written into a folder (seek.monitoring.report)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from seek.monitoring.report import write_report

APP = "toy-fraud"


def test_report_has_matrix_drift_table_and_plots(day: Any, reference_run: Path) -> None:
    report = write_report(day.root, APP, timedelta(days=1), day.until, reference_run=reference_run)
    files = {p.name for p in report.folder.iterdir()}
    assert {"report.md", "matrix.json", "drift.json", "latency.png", "traffic.png", "quality.png", "drift.png"} <= files
    assert report.folder == day.root / "monitoring" / APP / "reports" / day.until.strftime("%Y-%m-%d")
    text = (report.folder / "report.md").read_text()
    assert "| stability | availability (non-5xx share) |" in text and "![drift](drift.png)" in text
    assert report.drift.drifted == [], report.drift.markdown()
    assert {r.feature for r in report.drift.rows} == {"amount", "channel"}
    saved = json.loads((report.folder / "matrix.json").read_text())
    assert saved["stability"]["server_errors"] == 15 and saved["reference"] == str(reference_run)
    assert (report.folder / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_shifted_inputs_show_in_the_drift_table(shifted_day: Any, reference_run: Path) -> None:
    report = write_report(
        shifted_day.root, APP, timedelta(days=1), shifted_day.until, reference_run=reference_run, plots=False
    )
    assert report.drift.alerts == ["amount"]
    assert "Drifted features (PSI >= warn): amount." in (report.folder / "report.md").read_text()
    assert report.drift.gauges()["amount"]["psi"] >= 0.25


def test_no_reference_is_said_not_guessed(day: Any) -> None:
    report = write_report(day.root, APP, timedelta(days=1), day.until, plots=False)
    assert report.reference is None and report.drift.rows == []
    assert "No training reference found" in (report.folder / "report.md").read_text()


class _Server(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = {
            "/v2/health/live": b'{"live": true}',
            "/metrics": b'seek_model_info{app="toy-fraud",version="3",sha256="abc"} 1.0\nseek_requests_in_flight 2.0\n',
        }.get(self.path)
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: Any) -> None:
        pass


def test_url_adds_what_the_running_server_says(day: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        report = write_report(day.root, APP, timedelta(days=1), day.until, url=url, plots=False)
    finally:
        server.shutdown()
        server.server_close()  # refuse connections now, so the next report finds the server down
    assert report.live == {"url": url, "live": True, "version": "3", "in_flight": 2.0}
    down = write_report(day.root, APP, timedelta(days=1), day.until, url=url, plots=False)
    assert down.live["live"] is False and "NOT reachable" in (down.folder / "report.md").read_text()
