"""Refresh the console screenshots in docs/: `.venv/bin/python scripts/screenshots.py`.

1. A fresh SQLite database in a temporary var directory, migrated, with a demo account:
   verified and pending domains, an email address, a policy, a configuration set, messages.
2. The console served by Django's runserver on a free loopback port (stopped at the end).
3. Debian's chromium (Playwright, never a downloaded browser) signs in and saves, at 1280 px:
   the Verified identities list (also docs/screenshot.png, the README's), the create wizard,
   an identity page, its Authorization tab, the policy generator, Configuration sets and Sent
   messages (a few messages to the mailbox simulator, sent as the console sends them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs"
USERNAME, PASSWORD = "demo", "screenshots-demo-password"
CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


POLICY = """{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "AllowPartner", "Effect": "Allow",
    "Principal": {"AWS": ["222222222222"]}, "Action": ["ses:SendEmail", "ses:SendRawEmail"],
    "Resource": "arn:aws:ses:us-east-1:123456789012:identity/acme-demo.com"}]
}"""


def seed() -> None:
    """Demo data through the same operations as the console (run as `screenshots.py seed` in
    a child process that owns the fresh settings; the parent never imports Django)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from accounts.models import Account, Membership, Region
    from identities import operations, provisioning
    from identities.models import ConfigurationSet, IdentityType

    account = Account.objects.create(id="123456789012", name="Demo")
    user = get_user_model().objects.create_user(USERNAME, password=PASSWORD, is_staff=True)
    Membership.objects.create(user=user, account=account, role=Membership.Role.OWNER)
    region = Region.objects.get(code="us-east-1")
    ConfigurationSet.objects.create(account=account, region=region, name="transactional")
    made = {}
    for kind, name in [
        (IdentityType.DOMAIN, "acme-demo.com"),
        (IdentityType.DOMAIN, "byo-shop.net"),
        (IdentityType.EMAIL_ADDRESS, "news@acme-demo.com"),
    ]:
        spec = provisioning.NewIdentity(identity_type=kind, name=name)
        made[name] = operations.create_identity(account, region, spec, actor=USERNAME)
    shop = made["acme-demo.com"]
    operations.verify_without_dns(shop, "Marked verified without a DNS check.", actor=USERNAME)
    operations.create_policy(shop, "AllowPartner", POLICY, actor=USERNAME)
    send_demo_messages(account, region)


def send_demo_messages(account: object, region: object) -> None:
    """A few messages for Sent messages, sent as the console's Send test email sends them, to
    the mailbox simulator's addresses (allowed in the sandbox). No worker runs here: they stay
    queued for delivery."""
    from sending.operations import Outgoing, Simple, send

    for subject, scenario in [
        ("Your order has shipped", "success"),
        ("Welcome to Acme", "success"),
        ("Password reset", "bounce"),
        ("Monthly newsletter", "complaint"),
    ]:
        outgoing = Outgoing(
            account=account,  # type: ignore[arg-type]
            region=region,  # type: ignore[arg-type]
            actor=USERNAME,
            from_address="orders@acme-demo.com",
            to=[f"{scenario}@simulator.amazonses.com"],
            simple=Simple(subject=subject, text=f"{subject}.\n\nThe Acme team"),
        )
        send(outgoing)
        time.sleep(1.1)  # the sandbox's sending rate: one message a second


def wait_until_serving(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/login/", timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"The console did not answer at {url} within {timeout:.0f} s.")


def capture(url: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    executable = next((path for path in CHROMIUM if os.path.exists(path)), None)
    if executable is None:
        raise SystemExit("Debian's chromium is needed: apt-get install -y chromium")
    shots = DOCS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    pages = [
        ("verified-identities", "/us-east-1/verified-identities/"),
        ("create-identity", "/us-east-1/verified-identities/create/"),
        ("identity", "/us-east-1/verified-identities/acme-demo.com/"),
        ("authorization", "/us-east-1/verified-identities/acme-demo.com/authorization/"),
        ("sent-messages", "/us-east-1/sent-messages/"),
        ("configuration-sets", "/us-east-1/configuration-sets/"),
        ("create-policy", "/us-east-1/verified-identities/acme-demo.com/authorization/create/"),
    ]
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/login/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/verified-identities/")
        for name, path in pages:
            response = page.goto(url + path)
            if response is None or response.status != 200:
                print(f"skipped {path}: HTTP {response.status if response else '-'}")
                continue
            target = shots / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            saved.append(target)
        browser.close()
    shutil.copyfile(shots / "verified-identities.png", DOCS / "screenshot.png")
    return saved


def main() -> None:
    with tempfile.TemporaryDirectory() as var_dir:
        env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")
        }
        env.update(SESCONSOLE_VAR_DIR=var_dir, DJANGO_SETTINGS_MODULE="sesconsole.settings")
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--noinput"],
            cwd=BASE_DIR,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run([sys.executable, __file__, "seed"], cwd=BASE_DIR, env=env, check=True)
        port = free_port()
        server = subprocess.Popen(
            [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_serving(url)
            for path in capture(url):
                print(f"wrote {path.relative_to(BASE_DIR)}")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    seed() if sys.argv[1:] == ["seed"] else main()
