"""Amounts as finance writes them (三十万元, 壹拾万元整, 贰佰叁拾肆元伍角陆分) read exactly, checked against cn2an
(a well-kept converter that computes in floats, so it is the oracle here and not the reader); and money finer than
the fen refused the same way from a facts file, a CSV or XLSX cell and an HTTP body."""

from __future__ import annotations

import json
from decimal import Decimal

import cn2an
import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cli import cli
from engine import FactsError, applicant_from_data, applicant_from_text
from engine.core.amounts import AmountSyntaxError, parse_amount
from engine.core.numerals import NotNumeral, read

# Amounts within float's exact reach at the fen (at most 15 significant digits), so cn2an's floats can be compared.
AMOUNTS = st.builds(lambda yuan, fen: Decimal(yuan) + Decimal(fen) / 100,
                    st.one_of(st.integers(0, 10**13 - 1), st.integers(0, 99).map(lambda d: d * 10**8),
                              st.integers(1, 9).flatmap(lambda d: st.integers(0, 12).map(lambda p: d * 10**p))),
                    st.one_of(st.just(0), st.integers(0, 99), st.integers(0, 9).map(lambda d: d * 10)))


@settings(max_examples=400, deadline=None)
@given(AMOUNTS, st.sampled_from(["low", "up", "rmb"]))
def test_every_amount_cn2an_writes_is_read_exactly_and_as_cn2an_reads_it(amount, mode):
    text = cn2an.an2cn(f"{amount:f}", mode)  # 三十万, 叁拾万, 叁拾万元整, 贰佰叁拾肆元伍角陆分
    value, currency = read(text)
    assert value == amount, text
    assert currency == ("元" if mode == "rmb" else None)
    try:
        oracle = cn2an.cn2an(text, "strict")
    except ValueError:
        # cn2an does not read back some of its own 元角分 forms (伍分, 壹佰元零伍分); it reads every other one
        assert mode == "rmb" and ("零" in text or amount < 1), text
    else:
        assert Decimal(repr(float(oracle))).quantize(Decimal("0.01")) == amount
    assert parse_amount(text) == amount
    assert parse_amount(text + ("" if mode == "rmb" else "元")) == amount


@pytest.mark.parametrize("text,value", [
    ("三十万元", "300000"), ("壹拾万元整", "100000"), ("贰佰叁拾肆元伍角陆分", "234.56"), ("人民币壹拾万元整", "100000"),
    ("一万零五", "10005"), ("一万五千元", "15000"), ("一亿零三百万零五", "103000005"), ("三点五万元", "35000"),
    ("伍角", "0.5"), ("壹佰元零伍分", "100.05"), ("十二万三千四百五十六元七角八分", "123456.78"), ("两万元", "20000"),
    ("一万亿", "1000000000000"),
])
def test_forms_finance_writes(text, value):
    assert parse_amount(text) == Decimal(value)


def test_far_beyond_floats_the_reading_stays_exact():
    # cn2an gives 3000000000000001.0 for this (a float); the reader keeps the fen.
    assert read("三千万亿零一元零一分")[0] == Decimal("3000000000000001.01")


@pytest.mark.parametrize("text,why", [
    ("一万五", "a unit is left out"), ("三千五", "a unit is left out"), ("一亿五千", "a unit is left out"),
    ("二零二四", "one by one"), ("一百千", "out of order"), ("一千零五百", "零 is out of place"),
    ("壹拾万整", "整 goes after 元"), ("三元五", "only 角 and 分"),
])
def test_what_would_be_a_guess_is_refused_with_the_reason(text, why):
    with pytest.raises(NotNumeral):
        read(text)
    with pytest.raises(AmountSyntaxError) as caught:
        parse_amount(text)
    assert why in str(caught.value)


def test_a_facts_file_in_chinese_numerals_evaluates_and_the_sheet_echoes_digits(lishui, tmp_path):
    facts = tmp_path / "seller.yaml"
    facts.write_text("recipient: seller\narea: 莲都区\ndate: 2024-06-30\nfacts:\n  claim_year: 2024\n"
                     "  registered_cbec: true\n  first_time_cbec: true\n  cbec_turnover: 三十万元\n"
                     "  platform_fees: 贰佰叁拾肆元伍角陆分\n  digital_promotion: 壹拾万元整\n", encoding="utf-8")
    applicant = applicant_from_text(lishui, facts.read_text(encoding="utf-8"), str(facts))
    assert applicant.values["platform_fees"] == Decimal("234.56")
    run = CliRunner().invoke(cli, ["evaluate", "policies/lishui-2021-67.yaml", str(facts), "--format", "json"])
    assert run.exit_code == 0, run.output
    text = CliRunner().invoke(cli, ["evaluate", "policies/lishui-2021-67.yaml", str(facts)]).output
    assert "100,234.56" in text and "贰佰" not in text and "壹拾万" not in text


# ---------------------------------------------------------------- money finer than the fen: refused everywhere

def test_money_finer_than_the_fen_is_refused_from_a_facts_file_and_from_python_data(lishui):
    with pytest.raises(FactsError) as caught:
        applicant_from_text(lishui, "recipient: seller\nfacts:\n  platform_fees: 368000.505\n", "f.yaml")
    assert "f.yaml:3:18" in caught.value.format() and "368000.505" in caught.value.format()
    assert "not an amount exact to the fen" in caught.value.format()
    for value in ("368000.505", Decimal("368000.505"), 368000.505, "36.8000505万元"):
        with pytest.raises(FactsError) as caught:
            applicant_from_data(lishui, {"recipient": "seller", "facts": {"platform_fees": value}})
        assert "exact to the fen" in caught.value.format()
    with pytest.raises(FactsError) as caught:
        applicant_from_data(lishui, {"recipient": "seller", "granted": {"2.2": "1.001"}})
    assert "granted['2.2']" in caught.value.format() and "exact to the fen" in caught.value.format()
    # 368000.50 and 36.80005万元 are exact to the fen however written
    ok = applicant_from_data(lishui, {"recipient": "seller", "facts": {"platform_fees": "36.80005万元",
                                                                      "digital_promotion": "368000.500"}})
    assert ok.values == {"platform_fees": Decimal("368000.5"), "digital_promotion": Decimal("368000.5")}


CODES = ("91331100MA2A0W0H0T", "91331100MA2A0K0L0W")  # valid 统一社会信用代码 (examples/ledger)


def _round(tmp_path, rows_file):
    out = tmp_path / f"results-{rows_file.suffix[1:]}.csv"
    run = CliRunner().invoke(cli, ["batch", "policies/lishui-2021-67.yaml", str(rows_file), "-o", str(out),
                                   "--lang", "en"])
    errors = out.with_name(out.stem + ".errors.csv")
    return run, out.read_text(encoding="utf-8-sig"), errors.read_text(encoding="utf-8-sig")


def test_a_csv_cell_and_an_excel_float_finer_than_the_fen_are_refused_the_same_way(tmp_path):
    header = "credit_code,recipient,area,date,claim_year,registered_cbec,first_time_cbec,platform_fees,digital_promotion"
    csv = tmp_path / "round.csv"
    csv.write_text(f"{header}\n{CODES[0]},seller,莲都区,2024-06-30,2024,true,true,368000.505,0\n"
                   f"{CODES[1]},seller,莲都区,2024-06-30,2024,true,true,壹拾万元整,0\n", encoding="utf-8")
    from_csv = _round(tmp_path, csv)
    xlsx = tmp_path / "round.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header.split(","))
    sheet.append([CODES[0], "seller", "莲都区", "2024-06-30", 2024, True, True, 368000.505, 0])
    sheet.append([CODES[1], "seller", "莲都区", "2024-06-30", 2024, True, True, "壹拾万元整", 0])
    book.save(xlsx)
    from_xlsx = _round(tmp_path, xlsx)
    for run, results, errors in (from_csv, from_xlsx):
        assert run.exit_code == 1, run.output  # a row had a problem
        assert errors.splitlines()[1:] == [  # the same refusal from text and from Excel's float
            "2,2,向第三方平台缴纳的注册费、服务费、推广费等费用（platform_fees）,\"'platform_fees' (向第三方平台缴纳的注册费、"
            "服务费、推广费等费用) is 368000.505, not an amount exact to the fen (at most two decimal places)\",\"write it "
            "to the fen, e.g. 368000.51; in a spreadsheet, round the cell to 2 decimal places first (e.g. =ROUND(A1,2))\""]
        assert f"\n3,{CODES[1]}," in results  # 壹拾万元整 read, the row evaluated


def test_an_http_body_finer_than_the_fen_is_refused_and_chinese_numerals_are_read(tmp_path):
    import warnings
    warnings.simplefilter("ignore")  # starlette's note about httpx2: the test client works the same
    from starlette.testclient import TestClient

    from engine.service.app import create_app
    client = TestClient(create_app("policies"))
    base = {"recipient": "seller", "area": "莲都区", "date": "2024-06-30", "granted": {},
            "facts": {"claim_year": 2024, "registered_cbec": True, "first_time_cbec": True, "digital_promotion": 0,
                      "cbec_turnover": "三十万元"}}
    refused = client.post("/policies/lishui-2021-67/evaluate",
                          content=json.dumps({**base, "facts": {**base["facts"], "platform_fees": "368000.505"}}),
                          headers={"content-type": "application/json"})
    assert refused.status_code in (400, 422), refused.text
    assert "exact to the fen" in refused.text or "精确到分" in refused.text
    def answer(fees: object) -> dict:
        body = {**base, "facts": {**base["facts"], "platform_fees": fees}}
        reply = client.post("/policies/lishui-2021-67/evaluate", content=json.dumps(body, ensure_ascii=False).encode(),
                            headers={"content-type": "application/json"})
        assert reply.status_code == 200, reply.text
        found = reply.json()
        del found["applicant"]["facts_hash"]  # of the facts as sent: the only difference
        return found

    in_words = answer("壹拾万元整")
    assert in_words == answer(100000)
    assert [c["amount"] for c in in_words["clauses"] if c["id"] == "2.1"] == ["50000.00"]
