from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _ingress import Broker, Nginx, Pki, make_pki


class Ingress(NamedTuple):
    broker: Broker
    nginx: Nginx
    pki: Pki


@pytest.fixture(scope="module")
def ingress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingress]:
    directory = tmp_path_factory.mktemp("ingress")
    pki = make_pki(directory)
    broker = Broker()
    nginx = Nginx(broker.port, pki, directory)
    nginx.start()
    try:
        yield Ingress(broker, nginx, pki)
    finally:
        nginx.stop()
        broker.stop()
