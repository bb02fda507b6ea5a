"""The integration system (预算管理一体化系统) as the pulls see it, filled with the demo
generator's Pingluo County data at the 2021 year-end.

- ``build_source_database``: a real PostgreSQL database with base tables in schema
  ``yth`` and the reporting views of ``docs/examples/source-sql.yml`` in schema ``rpt``,
  Chinese column names throughout, reference values as Chinese labels and flags as
  booleans (as such systems store them). A read-only role may select from the views only.
- ``ApiServer``: its JSON API, as described by ``docs/examples/source-http.yml``, served
  by ``http.server`` on localhost (a stand-in: the one outside system we cannot run here).

(A module of its own, not conftest.py: test modules import these by name.)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg

from budgetperf.generate.calibration import PINGLUO_2021
from budgetperf.generate.county import build_county
from budgetperf.generate.entities import ENTITY_COLUMNS
from budgetperf.generate.rows import STREAMS
from budgetperf.generate.scenario import DEFAULT_SEED
from budgetperf.ingest.entities import ENTITIES

PROJECT = Path(__file__).resolve().parents[2]
SQL_EXAMPLE = PROJECT / "docs" / "examples" / "source-sql.yml"
HTTP_EXAMPLE = PROJECT / "docs" / "examples" / "source-http.yml"

# The integration system's state at the 2021 year-end: which generator streams it holds.
YEAR_END_STREAMS: dict[str, tuple[str, ...]] = {
    "departments": ("departments_year_end",),
    "projects": ("projects_2021_adjusted", "projects_2022"),
    "performance_targets": ("targets_2021", "targets_2022"),
    "pre_assessments": ("pre_assessments_2021", "pre_assessments_2022"),
    "budget_execution": ("execution_2021",),
    "indicator_actuals": ("actuals_2021",),
    "evaluations": ("evaluations_2021",),
    "budget_requests": ("requests_2022",),
}
MONEY = {"budget_amount_yuan", "amount_yuan", "requested_yuan"}

# entity -> (base table, view, [(contract column, column in the source, SQL type)])
SOURCE_TABLES: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "departments": (
        "dw_dwxx",
        "v_预算单位",
        [
            ("department_code", "单位编码", "varchar(20)"),
            ("department_name", "单位名称", "varchar(200)"),
            ("kind", "单位类型", "varchar(10)"),
            ("sector", "所属行业", "varchar(50)"),
            ("contact_email", "联系邮箱", "varchar(100)"),
        ],
    ),
    "projects": (
        "xm_xmys",
        "v_项目支出预算",
        [
            ("fiscal_year", "预算年度", "integer"),
            ("project_code", "项目编码", "varchar(30)"),
            ("department_code", "单位编码", "varchar(20)"),
            ("project_name", "项目名称", "varchar(200)"),
            ("budget_type", "预算类型", "varchar(20)"),
            ("fund_source", "资金来源", "varchar(20)"),
            ("category", "专项类别", "varchar(20)"),
            ("is_new", "是否新增", "boolean"),
            ("budget_amount_yuan", "预算金额", "numeric(18,2)"),
            ("is_monitored", "是否重点监控", "boolean"),
            ("is_ppp", "是否PPP", "boolean"),
            ("is_debt", "是否政府债务项目", "boolean"),
        ],
    ),
    "performance_targets": (
        "jx_mb",
        "v_绩效目标",
        [
            ("fiscal_year", "预算年度", "integer"),
            ("project_code", "项目编码", "varchar(30)"),
            ("indicator_code", "指标编码", "varchar(10)"),
            ("level1", "一级指标", "varchar(20)"),
            ("level2", "二级指标", "varchar(20)"),
            ("indicator_name", "指标名称", "varchar(200)"),
            ("comparator", "比较方式", "varchar(10)"),
            ("target_value", "目标值", "numeric"),
            ("unit", "计量单位", "varchar(20)"),
            ("weight", "分值", "numeric"),
            ("declared_on", "申报日期", "date"),
            ("is_published", "是否公开", "boolean"),
        ],
    ),
    "pre_assessments": (
        "jx_sqpg",
        "v_事前评估",
        [
            ("project_code", "项目编码", "varchar(30)"),
            ("fiscal_year", "预算年度", "integer"),
            ("assessed_on", "评估日期", "date"),
            ("necessity", "必要性", "numeric"),
            ("economy", "投入经济性", "numeric"),
            ("target_rationality", "绩效目标合理性", "numeric"),
            ("feasibility", "实施方案可行性", "numeric"),
            ("compliance", "筹资合规性", "numeric"),
            ("conclusion", "评估结论", "varchar(20)"),
        ],
    ),
    "budget_execution": (
        "zf_zfmx",
        "v_支付明细",
        [
            ("record_id", "支付流水号", "varchar(40)"),
            ("fiscal_year", "预算年度", "integer"),
            ("project_code", "项目编码", "varchar(30)"),
            ("payment_date", "支付日期", "date"),
            ("amount_yuan", "支付金额", "numeric(18,2)"),
            ("voucher_no", "凭证号", "varchar(40)"),
            ("payee", "收款方", "varchar(200)"),
        ],
    ),
    "indicator_actuals": (
        "jx_zbwc",
        "v_指标完成情况",
        [
            ("fiscal_year", "预算年度", "integer"),
            ("project_code", "项目编码", "varchar(30)"),
            ("indicator_code", "指标编码", "varchar(10)"),
            ("as_of", "填报截止日期", "date"),
            ("actual_value", "实际完成值", "numeric"),
        ],
    ),
    "evaluations": (
        "jx_pjjg",
        "v_绩效评价结果",
        [
            ("fiscal_year", "预算年度", "integer"),
            ("subject_type", "评价对象类型", "varchar(10)"),
            ("subject_code", "评价对象编码", "varchar(30)"),
            ("evaluator", "评价主体", "varchar(10)"),
            ("score", "得分", "numeric"),
            ("grade", "等级", "varchar(4)"),
            ("evaluated_on", "评价日期", "date"),
            ("report_quality_score", "报告质量评审得分", "numeric"),
        ],
    ),
    "budget_requests": (
        "ys_sb",
        "v_预算申报",
        [
            ("budget_year", "申报年度", "integer"),
            ("project_code", "项目编码", "varchar(30)"),
            ("department_code", "单位编码", "varchar(20)"),
            ("requested_yuan", "申报金额", "numeric(18,2)"),
            ("prior_project_code", "上年项目编码", "varchar(30)"),
        ],
    ),
}
# entities whose rows carry the system's change timestamp (更新时间)
CHANGE_STAMPED = {"budget_execution": "payment_date", "indicator_actuals": "as_of"}
GATE_LOCK = 4242  # advisory lock a "blocking" source waits on


def _label(entity: str, column: str, code: Any) -> Any:
    """Reference values as the integration system stores them: the Chinese label."""
    if code is None:
        return None
    choices = ENTITIES[entity].column(column).choices
    return choices[code][0] if choices.get(code) else code


def year_end_rows() -> dict[str, list[dict[str, Any]]]:
    """Each entity's rows at the 2021 year-end, contract column -> source value."""
    model = build_county(DEFAULT_SEED, 0, PINGLUO_2021)
    out: dict[str, list[dict[str, Any]]] = {}
    for entity, streams in YEAR_END_STREAMS.items():
        names = [c.name for c in ENTITY_COLUMNS[entity]]
        rows = []
        for stream in streams:
            for raw in STREAMS[stream](model, DEFAULT_SEED):
                row = dict(zip(names, raw, strict=True))
                for name in names:
                    if name in MONEY:
                        row[name] = Decimal(row[name]) / 100
                    elif ENTITIES[entity].column(name).choices:
                        row[name] = _label(entity, name, row[name])
                if entity in CHANGE_STAMPED:
                    day = row[CHANGE_STAMPED[entity]]
                    row["changed_at"] = dt.datetime.combine(day, dt.time(18, 0))
                rows.append(row)
        out[entity] = rows
    return out


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_source_database(url: str, rows: dict[str, list[dict[str, Any]]], reader: str) -> None:
    """Tables, views, data and the read-only grants of the integration system."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema yth")
        conn.execute("create schema rpt")
        # the failure gate of the payments view: open, fail after N rows, or block at row N
        # on an advisory lock (a source that stalls mid-stream)
        conn.execute("create table yth.gate (mode text not null, after bigint not null)")
        conn.execute("insert into yth.gate values ('open', 0)")
        conn.execute(
            f"""
            create function yth.bp_gate(n bigint) returns boolean
            language plpgsql volatile security definer as $$
            declare g record;
            begin
              select mode, after into g from yth.gate;
              if g.mode = 'fail' and n > g.after then
                raise exception '模拟故障：第 % 行读取失败 (injected failure)', n;
              elsif g.mode = 'block' and n = g.after then
                perform pg_advisory_lock_shared({GATE_LOCK});
                perform pg_advisory_unlock_shared({GATE_LOCK});
              end if;
              return true;
            end $$
            """
        )
        for entity, (table, view, columns) in SOURCE_TABLES.items():
            stamped = entity in CHANGE_STAMPED
            decl = [f"{_q(src)} {kind}" for _, src, kind in columns]
            if stamped:
                decl.append('"更新时间" timestamp not null')
            if entity == "budget_execution":
                decl.insert(0, "seq bigserial")
            conn.execute(f"create table yth.{table} ({', '.join(decl)})")
            names = [src for _, src, _ in columns] + (["更新时间"] if stamped else [])
            with (
                conn.cursor() as cur,
                cur.copy(f"copy yth.{table} ({', '.join(map(_q, names))}) from stdin") as copy,
            ):
                for row in rows[entity]:
                    values = [row[col] for col, _, _ in columns]
                    copy.write_row(values + ([row["changed_at"]] if stamped else []))
            select = ", ".join(map(_q, names))
            where = " where yth.bp_gate(seq)" if entity == "budget_execution" else ""
            order = " order by seq" if entity == "budget_execution" else ""
            # offset 0 keeps the gate above the sort, so it runs as rows are fetched
            source = (
                f"(select * from yth.{table}{order} offset 0) as t" if order else f"yth.{table}"
            )
            conn.execute(f"create view rpt.{_q(view)} as select {select} from {source}{where}")
        conn.execute("create table yth.rj_zt (日结日期 date not null)")
        conn.execute("insert into yth.rj_zt values ('2022-01-05')")
        conn.execute('create view rpt."v_日结状态" as select 日结日期 from yth.rj_zt')
        conn.execute("analyze")
        database = conn.info.dbname
        conn.execute(f"grant connect on database {_q(database)} to {_q(reader)}")
        conn.execute(f"grant usage on schema rpt to {_q(reader)}")
        conn.execute(f"grant select on all tables in schema rpt to {_q(reader)}")


def set_gate(url: str, mode: str, after: int = 0) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("update yth.gate set mode = %s, after = %s", (mode, after))


# -- the HTTP API -------------------------------------------------------------------------

API_PATHS = {
    "departments": "/departments",
    "projects": "/projects",
    "performance_targets": "/performance-targets",
    "pre_assessments": "/pre-assessments",
    "budget_execution": "/payments",
    "indicator_actuals": "/indicator-actuals",
    "evaluations": "/evaluations",
    "budget_requests": "/budget-requests",
}
PAYMENT_FIELDS = {
    "record_id": "zflsh",
    "fiscal_year": "ysnd",
    "project_code": "xmbm",
    "payment_date": "zfrq",
    "amount_yuan": "zfje",
    "voucher_no": "pzh",
    "payee": "skf",
}
# how each entity names its fields in the API: pinyin codes (mapped in the YAML),
# the contract's Chinese labels, or its English names (both need no mapping)
LABEL_FIELDS = {"projects", "pre_assessments", "evaluations"}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # as real APIs do: a JSON number
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def api_records(entity: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from budgetperf.ingest.entities import LABELS

    records = []
    for number, row in enumerate(rows, 1):
        record: dict[str, Any] = {"id": number}  # a field of the API's own: ignored
        for column in ENTITIES[entity].column_names:
            value = row[column]
            if value is None:
                continue  # APIs leave nulls out
            if entity == "budget_execution":
                key = PAYMENT_FIELDS[column]
            elif entity in LABEL_FIELDS:
                key = LABELS[column]
            else:
                key = column
            record[key] = _json_value(value)
        if "changed_at" in row:
            record["gxsj"] = row["changed_at"].isoformat()
        records.append(record)
    return records


class ApiServer:
    """The integration system's API on 127.0.0.1, with faults the tests switch on."""

    def __init__(
        self,
        rows: dict[str, list[dict[str, Any]]],
        token: str,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.token = token
        self.records = {API_PATHS[e]: api_records(e, r) for e, r in rows.items()}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.fail: dict[tuple[str, int], list[int]] = {}  # (path, page) -> statuses to answer
        self.refuse: dict[str, tuple[int, str]] = {}  # path -> (status, body)
        self.hang: set[tuple[str, int]] = set()  # (path, page) whose first request hangs
        self.release = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def url(self, token: str | None = None) -> str:
        return f"{self.scheme}://:{token or self.token}@127.0.0.1:{self.port}/api/v1"

    def __enter__(self) -> ApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self, path: str, page: int | None = None) -> int:
        with self.lock:
            return sum(
                1
                for p, q in self.requests
                if p == path and (page is None or q.get("pageNum") == str(page))
            )

    def _send(self, handler: BaseHTTPRequestHandler, status: int, document: Any) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = parts.path.removeprefix("/api/v1")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.requests.append((path, query))
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            self._send(handler, 401, {"code": 401, "msg": "token无效或已过期"})
            return
        # pageNum (the example's paging), or a cursor token (paging by "next")
        page = int(query.get("pageNum") or query.get("cursor") or "1")
        if (path, page) in self.hang:
            self.hang.discard((path, page))
            self.release.wait()  # never answers within the client's timeout
            return
        statuses = self.fail.get((path, page))
        if statuses:
            self._send(handler, statuses.pop(0), b"<html>502 Bad Gateway</html>")
            return
        if path in self.refuse:
            status, body = self.refuse[path]
            self._send(handler, status, body.encode("utf-8"))
            return
        if path == "/status/daily-closing":
            self._send(handler, 200, {"code": 0, "data": {"closedThrough": "2022-01-05"}})
            return
        records = self.records.get(path)
        if records is None:
            self._send(handler, 404, {"code": 404, "msg": f"接口不存在：{path}"})
            return
        since = query.get("updatedSince")
        if since is not None:
            records = [r for r in records if r.get("gxsj", "") >= since]
        size = int(query.get("pageSize", "1000"))
        chunk = records[(page - 1) * size : page * size]
        following = str(page + 1) if page * size < len(records) else None
        data = {"total": len(records), "records": chunk, "next": following}
        self._send(handler, 200, {"code": 0, "msg": "成功", "data": data})


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1: a bureau's private CA in miniature."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "一体化系统测试接口")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "api.pem", folder / "api.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def expected_counts(rows: dict[str, list[dict[str, Any]]], as_of: dt.date) -> dict[str, int]:
    """Rows per entity in a delivery as of ``as_of`` (records dated later left out)."""
    counts = {}
    for entity, items in rows.items():
        dated = CHANGE_STAMPED.get(entity)
        counts[entity] = sum(1 for r in items if dated is None or r[dated] <= as_of)
    return counts
