"""Build templates/annual.docx, the docxtpl template of the annual 综合排名 通报.

Same layout as the quarterly 通报 (GB/T 9704-2012; the styles, page and 版记 of
tools/make_bulletin_template.py); the generated .docx is the source of truth that staff edit in
Word or WPS, keeping the {{ ... }} and {% ... %} tags (variables: pipeline/annual_bulletin.py).

    .venv/bin/python tools/make_annual_template.py
"""
from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.shared import Mm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_bulletin_template import (  # noqa: E402 - the quarterly builder's helpers, beside this file
    _cell,
    _p,
    _record,
    _row_height,
    _schema_order,
    _section,
    _styles,
    _table_props,
)

OUT = Path(__file__).resolve().parent.parent / "templates" / "annual.docx"

COLUMNS = [("名次", 10), ("单位", 21), ("一季度\n名次", 13.5), ("二季度\n名次", 13.5), ("三季度\n名次", 13.5),
           ("四季度\n名次", 13.5), ("年末\n达标率", 14), ("全年\n新增", 11), ("按时\n报送", 12),
           ("综合\n得分", 12), ("备注", 22)]
ROW_CELLS = ["{{ r.rank|dash }}", "{{ r.unit }}", "{{ r.places[0]|place }}", "{{ r.places[1]|place }}",
             "{{ r.places[2]|place }}", "{{ r.places[3]|place }}", "{{ r.rate|pct }}", "{{ r.new_in_year }}",
             "{{ r.on_time }}/{{ r.due }}", "{{ r.score|score }}", "{{ r|annual_remark }}"]

OPENING = (
    "按照《二七区安全生产监督管理局关于进一步加强工贸行业企业安全生产标准化建设工作的实施意见》"
    "（二七安监管〔2016〕8号）关于每季度对各乡（镇）办事处达标创建情况进行通报排名、综合排名情况作为年度"
    "乡（镇）办事处安全考核重要考评项的要求，区安全监管局根据各乡（镇）办事处报送的{{ year }}年"
    "{{ first_month }}月至{{ last_month }}月《工贸企业安全生产标准化月度报表》和{{ quarters_text }}的通报排名，"
    "对各乡（镇）办事处{{ year }}年度达标创建工作进行了综合排名"
    "{% if missing_quarters %}（{% for q, why in missing_quarters %}{{ q|quarter_word }}{{ why }}"
    "{% if not loop.last %}，{% endif %}{% endfor %}，不计入本次排名）{% endif %}。现将有关情况通报如下：")

OVERALL = (
    "截至{{ year }}年{{ last_month }}月底，全区共有规模以上工贸企业{{ summary.base }}家，累计完成安全生产"
    "标准化达标创建{{ summary.certified }}家"
    "{% for k in [1, 2, 3] if summary.by_level.get(k) %}{% if loop.first %}（其中{% else %}、{% endif %}"
    "{{ k|cn }}级{{ summary.by_level[k] }}家{% if loop.last %}）{% endif %}{% endfor %}；"
    "全年{% if summary.new_in_year %}新增达标企业{{ summary.new_in_year }}家{% else %}没有新增达标企业{% endif %}"
    "{% if summary.reviewing %}，另有{{ summary.reviewing }}家企业正在评审{% endif %}。"
    "{% if summary.rate is not none %}全区达标率为{{ summary.rate|pct }}，"
    "{% if summary.rate >= summary.target %}完成了{{ year }}年底{{ summary.target|pct(0) }}的目标任务"
    "{% else %}未完成{{ year }}年底{{ summary.target|pct(0) }}的目标任务，还差{{ (summary.target - summary.rate)|pp }}"
    "个百分点（{{ needed }}家企业）{% endif %}。{% endif %}"
    "参加排名的{{ ranked|length }}个单位中，{% if not reached %}没有单位达到年度目标"
    "{% elif reached|length == ranked|length %}各单位均达到了年度目标"
    "{% else %}{{ reached|names }}{{ reached|length }}个单位达到了年度目标{% endif %}。")

RULE = (
    "综合得分满分100分，由年末达标率（权重{{ shares.rate }}%）、季度排名（{{ shares.quarters }}%）、"
    "按时报送（{{ shares.on_time }}%）、全年新增（{{ shares.new }}%）四项组成，计算方法和各单位得分见附件1，"
    "各单位逐月达标率见附件2。")

PRAISE = ("{% set n.sub = n.sub + 1 %}（{{ n.sub|cn }}）表扬先进。",
          ("{% for u in praised %}{{ u }}（综合得分{{ rows[u].score|score }}分，年末达标率{{ rows[u].rate|pct }}）"
           "{% if not loop.last %}、{% endif %}{% endfor %}全年达标创建工作组织有力、推进扎实，综合排名位居全区前列，"
           "予以通报表扬。"))

CRITICIZE = ("{% set n.sub = n.sub + 1 %}（{{ n.sub|cn }}）批评落后。",
             ("{% for u in criticized %}{{ u }}（{% if rows[u].score is none %}{{ rows[u].status }}"
              "{% else %}综合得分{{ rows[u].score|score }}分，年末达标率{{ rows[u].rate|pct }}{% endif %}）"
              "{% if not loop.last %}、{% endif %}{% endfor %}达标创建工作进展缓慢，综合排名靠后，"
              "未完成年度目标任务，予以通报批评。"))

REPORTING = ("{% set n.sub = n.sub + 1 %}（{{ n.sub|cn }}）报表报送情况。",
             ("{% if all_on_time %}{{ all_on_time|names }}全年各月均按时报送了月度报表。{% endif %}"
              "{% if not_reported %}{{ not_reported|names }}全年未报送月度报表。{% endif %}"
              "{% if reporting %}{% for u, late, missed in reporting %}{{ u }}（{% if late %}迟报{{ late }}个月"
              "{% endif %}{% if late and missed %}、{% endif %}{% if missed %}缺报{{ missed }}个月{% endif %}）"
              "{% if not loop.last %}、{% endif %}{% endfor %}存在迟报、缺报情况。{% endif %}"))

ITEM = "{% set n.item = n.item + 1 %}{{ n.item|cn }}是"
REJECTED = (ITEM + "部分报表质量不高。全年共有{{ rejected|sum(attribute=1) }}份月度报表因填报错误被退回重报，涉及"
            "{% for u, c in rejected %}{{ u }}（{{ c }}份）{% if not loop.last %}、{% endif %}{% endfor %}。")
WARNINGS = (ITEM + "部分报表数据存在疑点。{% for u, title, c in data_warnings %}{{ u }}报表“{{ title }}”{{ c }}处"
            "{% if not loop.last %}，{% endif %}{% endfor %}。请相关单位认真核实，确保数据真实准确。")
FAR_BELOW = (ITEM + "部分单位进度严重滞后。{% for u in far_below %}{{ u }}（{{ rows[u].rate|pct }}）"
             "{% if not loop.last %}、{% endif %}{% endfor %}年末达标率不足年度目标的一半。")
OFTEN = (ITEM + "{% if often_criticized|length > 1 %}部分{% else %}个别{% endif %}单位工作长期推进不力。"
         "{% for u, qs in often_criticized %}{{ u }}（{{ qs|quarters_text }}）{% if not loop.last %}、{% endif %}{% endfor %}"
         "全年多次被季度通报批评，区安全监管局将约谈{% if often_criticized|length > 1 %}上述单位{% else %}该单位{% endif %}"
         "分管负责同志。")
NO_PROBLEM = "全年各单位报表质量总体较好，未发现突出问题。"

TABLE_NOTE = (
    "注：1.各季度名次为该季度通报的名次，“未报”为该季度未报送，“—”为该季度不计入；年末达标率为年内最后一个"
    "报送月份各级“累计完成”之和÷规模以上企业数；全年新增为各月“当月完成”之和。2.综合得分＝年末达标率得分×"
    "{{ shares.rate }}%＋季度排名得分×{{ shares.quarters }}%＋按时报送得分×{{ shares.on_time }}%＋全年新增得分×"
    "{{ shares.new }}%。年末达标率得分＝达标率÷年度目标×100（最高100）；季度排名得分为各季度（参加排名单位数－名次）"
    "÷（参加排名单位数－1）×100的平均；按时报送得分＝按时报送月数÷应报月数×100；全年新增得分＝（全年新增÷"
    "规模以上企业数）÷各单位中该比值的最大值×100。得分相同的并列；全年未报送的单位列于最后。")
CHART_NOTE = ("注：每个单位一幅小图，折线为各月月底达标率，红色虚线为{{ year }}年底目标（{{ summary.target|pct(0) }}）；"
              "未报送的月份没有点。")


def _body(doc) -> None:
    h2 = "公文二级标题字"
    _p(doc, "公文发文机关标志", "{{ bureau }}文件")
    _p(doc, "公文发文字号", "{{ doc_number }}")
    _p(doc, "公文标题", "关于{{ year }}年度工贸行业企业安全生产标准化\n达标创建情况综合排名的通报")
    _p(doc, "公文主送机关", "各乡（镇）办事处：")
    _p(doc, "公文正文", OPENING)
    _p(doc, "公文一级标题", "一、全年总体情况")
    _p(doc, "公文正文", OVERALL)
    _p(doc, "公文一级标题", "二、综合排名情况")
    _p(doc, "公文正文", "{% set n = namespace(sub=0, item=0) %}" + RULE)
    for condition, (lead, text) in (("praised", PRAISE), ("criticized", CRITICIZE), (None, REPORTING)):
        if condition:
            _p(doc, "公文正文", f"{{%p if {condition} %}}")
        _p(doc, "公文正文", (lead, h2), text)
        if condition:
            _p(doc, "公文正文", "{%p endif %}")
    _p(doc, "公文一级标题", "三、存在问题")
    for condition, text in (("rejected", REJECTED), ("data_warnings", WARNINGS), ("far_below", FAR_BELOW),
                            ("often_criticized", OFTEN), ("n.item == 0", NO_PROBLEM)):
        _p(doc, "公文正文", f"{{%p if {condition} %}}")
        _p(doc, "公文正文", text)
        _p(doc, "公文正文", "{%p endif %}")
    _p(doc, "公文一级标题", "四、下一步工作要求")
    _p(doc, "公文正文", "{%p for lead, text in next_steps %}")
    _p(doc, "公文正文", ("{{ lead }}", h2), "{{ text }}")
    _p(doc, "公文正文", "{%p endfor %}")
    _p(doc, "公文正文", "特此通报。")
    doc.paragraphs[-1].paragraph_format.keep_with_next = True
    _p(doc, "公文附件说明", "附件：1.{{ year }}年度各乡（镇）办事处安全生产标准化达标创建综合排名表")
    _p(doc, "公文附件说明续", "2.{{ year }}年度各乡（镇）办事处安全生产标准化达标率月度走势图")
    _p(doc, "公文署名", "{{ bureau }}")
    _p(doc, "公文成文日期", "{{ issued|cndate }}")


def _ranking_table(doc) -> None:
    _p(doc, "附件标识", "附件1")
    _p(doc, "附件标题", "{{ year }}年度各乡（镇）办事处\n安全生产标准化达标创建综合排名表")
    table = doc.add_table(rows=4, cols=len(COLUMNS))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _table_props(table, {side: 4 for side in ("top", "left", "bottom", "right", "insideH", "insideV")})
    for column, (_, width) in zip(table.columns, COLUMNS):
        column.width = Mm(width)
    head, loop, row, end = table.rows
    _row_height(head, 11, header=True)
    _row_height(row, 7)
    for i, (name, width) in enumerate(COLUMNS):
        _cell(head.cells[i], name, "表头文字", width)
        _cell(loop.cells[i], "{%tr for r in ranking %}" if i == 0 else "", "表格文字", width)
        _cell(row.cells[i], ROW_CELLS[i], "表格文字", width)
        _cell(end.cells[i], "{%tr endfor %}" if i == 0 else "", "表格文字", width)
    _p(doc, "表格注释", TABLE_NOTE)


def _chart(doc) -> None:
    _p(doc, "附件标识", "附件2")
    _p(doc, "附件标题", "{{ year }}年度各乡（镇）办事处\n安全生产标准化达标率月度走势图")
    _p(doc, "图片", "{{ chart }}")
    _p(doc, "表格注释", CHART_NOTE)


def build(out: Path = OUT) -> Path:
    doc = Document()
    doc.core_properties.title = "年度安全生产标准化达标创建综合排名通报（模板）"
    doc.core_properties.author = "郑州市二七区安全生产监督管理局"
    _styles(doc)
    _section(doc)
    _body(doc)
    _ranking_table(doc)
    _chart(doc)
    _record(doc)
    _schema_order(doc)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(out)
    return out


if __name__ == "__main__":
    print(build())
