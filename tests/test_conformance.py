"""The core's app conformance suite, run over the reference app and the smallest plugin."""

from __future__ import annotations

import sys
from pathlib import Path

from seek.apps.digits import DigitsApp
from seek.testing import AppConformance

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "seek-hello"))
from seek_hello import HelloApp


class TestDigitsConformance(AppConformance):
    app = DigitsApp()


class TestHelloConformance(AppConformance):
    app = HelloApp()
