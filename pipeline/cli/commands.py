"""The commands that run a job (monthly, quarterly, close, template …): arguments and folders checked, then the job."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from pipeline.cli.common import MONTH, QUARTER, YEAR, bad_period, prepared
from pipeline.core.period import Month


def cmd_monthly(args) -> int:
    from pipeline.jobs.monthly import run_monthly
    if bad_period(args.period, MONTH, "2016-09"):
        return 2
    f, settings, units = prepared(args, ("inbox", "archive", "reference"), ("archive", "outbox"))
    return run_monthly(f, args.period, settings=settings, units=units)


def cmd_quarterly(args) -> int:
    from pipeline.core.settings import doc_number_of
    from pipeline.jobs.quarterly import early_reasons, last_quarter, run_quarterly
    if bad_period(args.period, QUARTER, "2016Q3"):
        return 2

    def number_given(s):   # a 文号 is asked for before anything is touched (a draft may leave it blank)
        quarter = (args.period or last_quarter(s)).upper()
        if not early_reasons(quarter, s, dt.datetime.now(s.tz)):
            doc_number_of(s, quarter, Path(args.reference))
    f, settings, units = prepared(args, ("inbox", "archive", "reference"), ("archive", "outbox"), number_given)
    return run_quarterly(f, args.period, force=args.force, settings=settings, units=units)


def cmd_close(args) -> int:
    from pipeline.jobs.closing import close_quarter
    if bad_period(args.quarter, QUARTER, "2016Q3"):
        return 2
    f, _, _ = prepared(args, ("archive", "reference"), ("archive",))
    return close_quarter(f, args.quarter.upper(), args.note or "")


def cmd_reopen(args) -> int:
    from pipeline.jobs.closing import reopen_quarter
    if bad_period(args.quarter, QUARTER, "2016Q3"):
        return 2
    f, _, _ = prepared(args, ("archive", "reference"), ("archive",))
    return reopen_quarter(f, args.quarter.upper(), args.reason)


def cmd_annual(args) -> int:
    from pipeline.jobs.annual import run_annual
    if bad_period(args.year, YEAR, "2016"):
        return 2
    f, _, _ = prepared(args, ("archive", "reference"), ("archive", "outbox"))
    return run_annual(f, int(args.year) if args.year else None)


def cmd_status(args) -> int:
    from pipeline.jobs.monthly import print_status
    if bad_period(args.period, MONTH, "2016-09"):
        return 2
    f, settings, units = prepared(args, ("archive", "reference"))
    return print_status(f, args.period, settings=settings, units=units)


def cmd_template(args) -> int:
    from pipeline.outputs.template import make_templates
    if bad_period(args.period, MONTH, "2016-10"):
        return 2
    if args.register:
        return _register_template(args)
    f, settings, units = prepared(args, ("reference",), ("outbox",))
    period = args.period or _next_month(settings)
    out = f["outbox"] / "templates"
    paths = make_templates(units.names_for(period), period, out, settings)
    print(f"已生成 {len(paths)} 份 {period} 空白报表：{out / period}")
    return 0


def cmd_verify(args) -> int:
    from pipeline.jobs.verify import verify
    f, settings, units = prepared(args, ("archive", "reference"))
    return verify(f, settings, units)


def cmd_rebuild(args) -> int:
    from pipeline.jobs.verify import rebuild_ledger
    f, settings, units = prepared(args, ("archive", "reference"), ("archive",))
    return rebuild_ledger(f, settings, units)


def _register_template(args) -> int:
    from pipeline.outputs.register_template import FILE_NAME, write_register_template
    f, settings, units = prepared(args, ("reference",), ("outbox",))
    out = f["outbox"] / "templates"
    out.mkdir(parents=True, exist_ok=True)
    path = write_register_template(out / FILE_NAME, units.names, settings["district"]["bureau"])
    print(f"已生成空白企业台账：{path}\n填好后另存为 {f['reference'] / settings['register']['file']}.xlsx。")
    return 0


def cmd_register(args) -> int:
    import datetime as dt

    from pipeline.jobs.register import run_register
    day = None
    if args.date:
        try:
            day = dt.date.fromisoformat(args.date)
        except ValueError:
            print(f"日期“{args.date}”的写法不对，应为 2016-09-30。", file=sys.stderr)
            return 2
    f, _, _ = prepared(args, ("archive", "reference"), ("archive", "outbox"))
    return run_register(f, day)


def _next_month(settings) -> str:
    import datetime as dt
    return Month.at(dt.datetime.now(settings.tz)).next


def cmd_fetch_mail(args) -> int:
    from pipeline.jobs.mail.mailrun import run_fetch_mail
    f, _, _ = prepared(args, ("inbox", "archive", "reference"), ("inbox", "archive", "outbox"))
    return run_fetch_mail(f)


def cmd_watch(args) -> int:
    from pipeline.jobs.mail.watch import run_watch
    f, _, _ = prepared(args, ("inbox", "archive", "reference"), ("inbox", "archive", "outbox"))
    return run_watch(f)


def cmd_remind(args) -> int:
    from pipeline.jobs.mail.remind import run_remind
    if bad_period(args.period, MONTH, "2016-09"):
        return 2
    f, _, _ = prepared(args, ("archive", "reference"))
    return run_remind(f, args.period)


def cmd_demo(args) -> int:
    try:   # the sample workbooks' writers are an extra: the product never needs them
        import odf  # noqa: F401
        import xlwt  # noqa: F401
    except ImportError:
        print("演示需要生成样例报表的软件包：请运行 make demo，或 pip install -e '.[demo]'。", file=sys.stderr)
        return 2
    from pipeline.demo.year import run_demo
    return run_demo(Path(args.dir))


def cmd_codes(args) -> int:
    from pipeline.core.findings import CODES, catalogue_markdown
    if args.markdown:
        sys.stdout.write(catalogue_markdown())
    else:
        print("级别        含义                      代码")
        for code, spec in CODES.items():
            level = "错误（退回）" if spec.severity == "error" else "提示（接收）"
            print(f"{level}  {spec.title}{'　' * max(0, 12 - len(spec.title))}  {code}")
    return 0


def cmd_settings(args) -> int:
    from pipeline.core.settings import settings_markdown
    if args.markdown:
        sys.stdout.write(settings_markdown())
    else:
        _, settings, _ = prepared(args, ("reference",))
        print(json.dumps(settings.values, ensure_ascii=False, indent=1))
    return 0
