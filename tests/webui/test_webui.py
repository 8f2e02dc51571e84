"""The local master's web page in a real browser (Debian's chromium, driven by selenium)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import RawScheduler, framework_info, small
from tests.support.prereq import unavailable

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOT = Path(os.environ.get("MESOS_FRAMEWORK_WEBUI_SCREENSHOT", tempfile.gettempdir())) / "webui.png"


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless chromium with a fresh profile, its console log kept."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install -e '.[dev]')")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        unavailable("chromium and chromium-driver are not installed (scripts/bootstrap --browser)")
    profile = tempfile.mkdtemp(prefix="mf-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[LocalCluster]:
    async with LocalCluster(allocation_interval=0.5) as c:
        yield c


async def until(check: Callable[[], Any], within: float = 20.0) -> Any:
    """Poll ``check`` (run in a thread: selenium blocks) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        result = await asyncio.to_thread(check)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {check}")
        await asyncio.sleep(0.2)


async def test_page_shows_agents_a_launched_task_and_its_stdout(cluster: LocalCluster, browser: Any) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def text_of(css: str) -> str:
        """The visible text of the matching elements, read in one step (the page re-renders live)."""
        script = (
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText).join('\\n')"
        )
        return str(browser.execute_script(script, css))

    def click(by: str, what: str) -> bool:
        """A real click; False if the element was replaced by a re-render just then (try again)."""
        try:
            browser.find_element(by, what).click()
        except StaleElementReferenceException:
            return False
        return True

    await asyncio.to_thread(browser.get, cluster.url + "/")
    agent_id = cluster.agents[0].id
    assert agent_id
    await until(lambda: agent_id in text_of("#agents"))
    assert await until(lambda: text_of("#status") == "live")
    assert "no tasks" in text_of("#tasks")

    async with aiohttp.ClientSession() as http:
        s = RawScheduler(cluster.url, http)
        try:
            await s.subscribe(framework_info("webui"))
            offer = (await s.offers())[0]
            ports = next(
                {**r, "ranges": {"range": [{"begin": 31005, "end": 31005}]}}
                for r in offer["resources"]
                if r["name"] == "ports"
            )
            task_id = await s.launch(
                offer,
                {"value": "echo hello-from-webui; echo oops >&2; sleep 60"},
                extra={"resources": [*small(offer), ports]},
            )
            launched = time.monotonic()
            row = f'#tasks tr[data-task="{task_id}"]'
            await until(lambda: task_id in text_of(row), within=10)
            while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
                await s.ack(st)
            await s.ack(st)
            await until(lambda: "TASK_RUNNING" in text_of(row), within=10)
            assert "31005" in text_of(row).split()
            assert time.monotonic() - launched < 10
            assert "conformance-webui" in text_of("#frameworks")
            await until(lambda: click(By.CSS_SELECTOR, row))
            await until(lambda: "hello-from-webui" in text_of("#output"))
            await until(lambda: click(By.ID, "show-stderr"))
            await until(lambda: "oops" in text_of("#output"))
            assert "hello-from-webui" not in text_of("#output")
            await asyncio.to_thread(browser.save_screenshot, str(SCREENSHOT))
            await s.call("KILL", kill={"task_id": {"value": task_id}})
            await until(lambda: "TASK_KILLED" in text_of(row))
        finally:
            await s.teardown()
    errors = [e for e in await asyncio.to_thread(browser.get_log, "browser") if e["level"] == "SEVERE"]
    assert errors == []
