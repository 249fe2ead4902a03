"""The /ui page in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium).

The page must load with no console errors and show a promoted model, a finished job and the latest
report's matrix, drift table and plots; a screenshot is kept as a test artifact (``$SEEK_TEST_ARTIFACTS``
or the test's temp folder).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
from serving.conftest import digits_records, digits_run, live_server, runs_root  # noqa: F401 - fixtures

APP = "quickstart-digits"


def _report(root: Path) -> Path:
    """A report folder as seek.monitoring.report writes it (matrix.json, drift.json, a PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = root / "monitoring" / APP / "reports" / time.strftime("%Y-%m-%d", time.gmtime())
    folder.mkdir(parents=True)
    matrix = {
        "quality": {"accuracy": 0.93, "f1": 0.91},
        "efficiency": {"p99_latency_s": 0.012},
        "stability": {"error_rate": 0.001},
    }
    (folder / "matrix.json").write_text(json.dumps(matrix))
    (folder / "drift.json").write_text(json.dumps([{"feature": "pixels[3]", "n": 500, "psi": 0.31, "ks": 0.2,
                                                    "level": "alert"}]))  # fmt: skip
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [3, 1, 2])
    fig.savefig(folder / "latency.png")
    plt.close(fig)
    return folder


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.fail("chromium and chromedriver are not installed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.mark.slow
def test_ui_page_shows_promoted_model_finished_job_and_report_without_console_errors(runs_root, live_server, tmp_path):  # noqa: F811
    _report(runs_root)
    server = live_server("--no-auth")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(2)}).status_code == 200
        job = http.post("/v1/jobs", json={"app": APP, "records": digits_records(2)}).json()
        deadline = time.monotonic() + 20
        while http.get(f"/v1/jobs/{job['id']}").json()["state"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    from selenium.webdriver.common.by import By

    driver = _driver()
    try:
        driver.get(f"{server.url}/ui")
        text = driver.find_element(By.TAG_NAME, "body").text
        images = driver.find_elements(By.TAG_NAME, "img")
        loaded = [
            driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", i) for i in images
        ]
        artifacts = Path(os.environ.get("SEEK_TEST_ARTIFACTS", tmp_path))
        artifacts.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(artifacts / "ui.png"))
        console = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    finally:
        driver.quit()
    assert console == []
    assert APP in text and "v1" in text and "ready" in text
    assert job["id"][:12] in text and "succeeded" in text
    assert "accuracy" in text and "0.93" in text and "pixels[3]" in text and "alert" in text
    assert len(images) == 1 and all(loaded)
    assert (artifacts / "ui.png").stat().st_size > 10_000
