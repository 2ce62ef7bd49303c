"""`hoist serve` killed with SIGKILL under mixed load, again and again: nothing acknowledged is lost.

Four rounds on one data folder. In each, client threads issue upload URLs and send good PNGs and
text declared as PNG while the image worker processes them; after a few seconds the server is
killed (SIGKILL, mid-request) and started again on the same data. After the last round:

- every URL whose `POST /upload-url` was answered 200 has its record (an acknowledged record);
- every object whose PUT was answered 200 is there with its exact bytes (an acknowledged write), and
  reaches its final status: `processed` for the images, `rejected` for the text;
- every derived image of a processed upload decodes whole (none half-written);
- no temporary file is left in the store.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time

from api_common import BUCKET, FAST, APIClient, put_url, store_s3_client
from interop_common import temp_dir

ROUNDS = 4
CLIENTS = 4


class Load(threading.Thread):
    """Uploads until the server goes away; records what was acknowledged."""

    def __init__(self, n: int, srv, token: str, ledger: dict, lock: threading.Lock, killed: threading.Event,
                 unexpected: list, images: list[bytes]) -> None:
        super().__init__(daemon=True)
        self.n, self.srv, self.token, self.ledger, self.lock = n, srv, token, ledger, lock
        self.killed, self.unexpected, self.images = killed, unexpected, images
        self.random = random.Random(n)
        self.api = APIClient(srv.api, timeout=10)

    def run(self) -> None:
        article = None
        while True:
            good = self.random.random() < 0.8
            body = self.random.choice(self.images) if good else b"no pixels in here\n" * (1 + self.random.randrange(20))
            try:
                request = {"contentType": "image/png", "size": len(body)}
                if article:
                    request["articleId"] = article
                resp = self.api.upload_url(self.token, request)
                if resp.status_code != 200:
                    raise RuntimeError(f"POST /upload-url -> {resp.status_code} {resp.text[:200]}")
                issued = resp.json()
                article = issued["articleId"]
                with self.lock:
                    self.ledger["records"][issued["key"]] = article
                put = put_url(issued["uploadUrl"], issued["headers"], body, timeout=10)
                if put.status != 200:
                    raise RuntimeError(f"PUT -> {put.status}")
                with self.lock:
                    self.ledger["objects"][issued["key"]] = (article, hashlib.md5(body).hexdigest(),
                                                             "processed" if good else "rejected")
            except Exception as error:  # noqa: BLE001 — after the kill every request fails; before it none may
                if not self.killed.is_set():
                    self.unexpected.append(f"{type(error).__name__}: {str(error)[:200]}")
                return


def test_kill9_under_load(checks, servers) -> None:
    R = checks
    from api_common import picture

    data = temp_dir("hoist-crash-data-")
    images = [picture("PNG", 48 + 8 * i, 32 + 4 * i, seed=i) for i in range(6)]
    ledger: dict = {"records": {}, "objects": {}}
    lock = threading.Lock()
    unexpected: list[str] = []
    rng = random.Random(7)
    for round_ in range(ROUNDS):
        srv = servers.start("serve", env=FAST, data_dir=data, check=f"round {round_ + 1}: hoist serve starts on the data")
        token = srv.token("crash")
        killed = threading.Event()
        threads = [Load(n + 10 * round_, srv, token, ledger, lock, killed, unexpected, images) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(3 + rng.random() * 3)
        killed.set()
        srv.kill9()
        for t in threads:
            t.join(timeout=30)
    R.info(f"{ROUNDS} kills: {len(ledger['records'])} records and {len(ledger['objects'])} objects acknowledged")
    R.check("no request failed before a kill", not unexpected, "\n".join(unexpected[:10]))
    R.check("the load acknowledged uploads in every round", len(ledger["objects"]) >= ROUNDS * CLIENTS,
            f"{len(ledger['objects'])} objects")

    srv = servers.start("serve", env=FAST, data_dir=data, check="after the last kill: hoist serve starts on the data")
    token = srv.token("crash")
    api = APIClient(srv.api)
    s3 = store_s3_client(srv)
    articles = sorted(set(ledger["records"].values()))
    listed: dict[str, dict] = {}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        listed = {}
        for article in articles:
            resp = api.get(f"/articles/{article}/uploads", token)
            if resp.status_code == 200:
                listed.update({u["key"]: u for u in resp.json().get("uploads", [])})
        if all(listed.get(k, {}).get("status") in ("processed", "rejected") for k in ledger["objects"]):
            break
        time.sleep(1)
    missing_records = [k for k in ledger["records"] if k not in listed]
    R.check("every acknowledged record survived the kills", not missing_records,
            f"{len(missing_records)} missing, e.g. {missing_records[:3]}")
    wrong = {k: listed.get(k, {}).get("status") for k, (_, _, want) in ledger["objects"].items()
             if listed.get(k, {}).get("status") != want}
    R.check("every acknowledged upload reached its final status (images processed, text rejected)", not wrong,
            f"{len(wrong)} not so, e.g. {list(wrong.items())[:5]}")

    from botocore.exceptions import ClientError
    from PIL import Image
    import io

    intact = 0
    good = [(k, md5) for k, (_, md5, want) in ledger["objects"].items() if want == "processed"]
    for key, md5 in good:
        try:
            intact += hashlib.md5(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest() == md5
        except ClientError:
            pass
    R.check("every acknowledged image is there with its exact bytes", intact == len(good), f"{intact} of {len(good)}")
    derived = [d["key"] for k in ledger["objects"] for d in (listed.get(k, {}).get("derived") or {}).values()]
    whole = 0
    for key in derived:
        try:
            with Image.open(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())) as image:
                image.load()
            whole += 1
        except Exception:  # noqa: BLE001 — a truncated or missing image is what this counts
            pass
    R.info(f"{len(derived)} derived images checked")
    R.check("every derived image decodes whole", whole == len(derived), f"{whole} of {len(derived)}")
    tmp = os.path.join(data, "store", "tmp")
    left = os.listdir(tmp) if os.path.isdir(tmp) else []
    R.check("no temporary file is left in the store", not left, repr(left[:5]))
    servers.stop(srv, check="hoist serve stops cleanly after the crashes")
