"""Shared fixtures: one headless chromium per test session (see tests/browser.py)."""

import pytest


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    from browser import launch

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
