"""Client logs in a database: ``retention-kit report --data postgresql://... --table
--client-col`` (a real PostgreSQL server, see ``postgres`` in conftest.py).

The spec runs in the database once per client; each client's orders and data-quality report
must equal the pandas path's on the same rows, and the reports must be made from them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from retention_kit import cli
from retention_kit.datasets import EXPORT_SPEC, data_dir
from retention_kit.errors import DataError
from retention_kit.ingest import clean_transactions
from retention_kit.reports import load_client, safe_name
from retention_kit.reports.database import database_clients

pytest.importorskip("ibis")

DEMO = data_dir() / "demo"
NORTH = safe_name("North & Co")  # "north-co-<hash>": the & changed the name


@pytest.fixture(scope="module")
def shops(postgres):
    """The till export split into two shops by customer (guests go to the first shop),
    in one PostgreSQL table with a ``shop_id`` column; and the pandas frames per shop."""
    raw = pd.read_csv(DEMO / "till_export" / "transactions.csv", dtype=str)
    ids = pd.to_numeric(raw["CustomerID"], errors="coerce")
    shop = (ids.fillna(0) % 2).map({0.0: "North & Co", 1.0: "south"})
    table = postgres.load(raw.assign(shop_id=shop))
    per_shop = {name: raw.loc[shop == name].reset_index(drop=True)
                for name in ("North & Co", "south")}
    return postgres, table.get_name(), per_shop


def test_each_client_is_cleaned_in_the_database_as_pandas_cleans_it(shops, tmp_path):
    pg, name, per_shop = shops
    folders = database_clients(pg.url, tmp_path, table=name, client_col="shop_id",
                               spec=EXPORT_SPEC)
    assert [f.name for f in folders] == [NORTH, "south"]
    for folder, (shop, raw) in zip(folders, per_shop.items(), strict=True):
        expected = clean_transactions(raw, EXPORT_SPEC)
        got = pd.read_csv(folder / "transactions.csv", dtype={"customer_id": str,
                                                              "order_id": str})
        want = expected.transactions[["customer_id", "date", "amount", "order_id"]]
        assert len(got) == len(want) > 100
        pd.testing.assert_frame_equal(
            got.assign(date=pd.to_datetime(got["date"])).sort_values("order_id")
            .reset_index(drop=True),
            want.astype({"customer_id": str, "order_id": str}).sort_values("order_id")
            .reset_index(drop=True), check_dtype=False)
        quality = json.loads((folder / "quality.json").read_text())
        assert quality == json.loads(expected.quality.to_json())
        assert json.loads((folder / "client.json").read_text()) == {"display_name": shop}
        # the folder loads as a client whose report shows the database's quality report
        client = load_client(folder)
        assert client.quality is not None
        assert client.quality.to_dict() == expected.quality.to_dict()
        assert client.transactions["amount"].sum() == pytest.approx(
            expected.transactions["amount"].sum(), rel=1e-12)


def test_database_inputs_that_cannot_work_get_specific_errors(shops, tmp_path):
    pg, name, per_shop = shops
    guests = sum(int(raw["CustomerID"].isna().sum()) for raw in per_shop.values())
    with pytest.raises(DataError, match="exactly one of a table or a query"):
        database_clients(pg.url, tmp_path, spec=EXPORT_SPEC)
    with pytest.raises(DataError, match="has no column 'shop'.*did you mean 'shop_id'"):
        database_clients(pg.url, tmp_path, table=name, client_col="shop", spec=EXPORT_SPEC)
    with pytest.raises(DataError, match=f"table '{name}x' cannot be read.*did you mean "
                                        f"'{name}'.*--table"):
        database_clients(pg.url, tmp_path, table=name + "x", client_col="shop_id")
    bad_url = pg.url.replace("postgresql://rk@", "postgresql://rk:secret@").replace(
        "port=", "port=1")
    with pytest.raises(DataError, match=r"cannot connect to postgresql://rk:\*\*\*@") as err:
        database_clients(bad_url, tmp_path, table=name)
    assert "secret" not in str(err.value)
    query = (f'SELECT *, CASE WHEN "CustomerID" IS NULL THEN NULL ELSE shop_id END AS shop '
             f'FROM "{name}"')
    with pytest.raises(DataError, match=r"rows have no shop, so they belong to no client's "
                                        rf"report\. Rows affected: {guests}\. How to fix: fill "
                                        "shop, or leave them out with a query"):
        database_clients(pg.url, tmp_path, query=query, client_col="shop", spec=EXPORT_SPEC)
    assert not (tmp_path / "south").exists()  # nothing half-written


def test_table_flags_need_a_database_url(capsys, tmp_path: Path) -> None:
    assert cli.main(["report", "--data", str(DEMO), "--table", "orders",
                     "--out", str(tmp_path)]) == 2
    assert "--table needs --data to be a database URL" in capsys.readouterr().err


@pytest.mark.slow
def test_one_report_per_client_of_a_database_table(shops, capsys, tmp_path: Path) -> None:
    pg, name, per_shop = shops
    out = tmp_path / "out"
    args = ["report", "--data", pg.url, "--table", name, "--client-col", "shop_id",
            "--out", str(out), "--no-progress", "-p", "fast", "true"]
    args += [x for key, value in EXPORT_SPEC.items()
             for x in ("--map", f"{key}={','.join(value) if isinstance(value, list) else value}")]
    assert cli.main(args) == 0, capsys.readouterr().out
    index = json.loads((out / "index.json").read_text())
    assert sorted(r["client_id"] for r in index) == [NORTH, "south"]
    assert all(r["status"] == "ok" for r in index)
    for shop, raw in per_shop.items():
        folder = "south" if shop == "south" else NORTH
        quality = json.loads((out / f"{folder}.quality.json").read_text())
        assert quality["n_rows_in"] == len(raw)
        html = (out / f"{folder}.html").read_text()
        assert shop.replace("&", "&amp;") in html


def _flag(value: object) -> str:
    """A spec value as its --map flag writes it."""
    return ",".join(value) if isinstance(value, list) else str(value)
