"""What a build context's lock files pin (pip wheels, Debian packages), fetched into it. None of
it needs the base image, so scripts/up fetches the repo's contexts (`main`) while the base
builds; `compose up` then finds them filled (each is filled once per lock) and goes straight
to `docker build`."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from maestro_deploy.local.daemon import LocalRunError
from maestro_deploy.local.debian import VendoringError, vendor_debs
from maestro_deploy.local.images import vendor_wheels


def vendor(context: Path) -> None:
    """Fill the context from its lock files; LocalRunError when a download fails or is not the one pinned."""
    vendor_wheels(context)
    try:
        vendor_debs(context)
    except VendoringError as err:
        raise LocalRunError(str(err)) from None


def main(contexts: list[str]) -> int:
    """Every context filled at once; 1 (each failure said) when one could not be."""
    failed = 0
    with ThreadPoolExecutor(max_workers=max(len(contexts), 1)) as pool:
        for context, done in [(c, pool.submit(vendor, Path(c))) for c in contexts]:
            try:
                done.result()
            except LocalRunError as err:
                print(f"{context}: {err}", file=sys.stderr)
                failed = 1
    return failed
