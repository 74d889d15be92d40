"""Build templates/bulletin.docx, the docxtpl template of the quarterly 通报.

The generated .docx is the source of truth: staff edit its wording in Word or WPS (keeping the
{{ ... }} and {% ... %} tags, whose variables are listed in pipeline/bulletin.py). This script
records how it was made and rebuilds it from scratch:

    .venv/bin/python tools/make_bulletin_template.py

Layout follows GB/T 9704-2012: A4, type area 156 × 225 mm (top 37, left 28 mm), 22 lines of
28 characters, 3号仿宋 body, red 发文机关标志 and separator line, 2号小标宋 title, page numbers
`— 1 —` on the outer side, attachments on new pages, 版记 at the bottom of the last page.
Fonts are named as Chinese offices have them and set as East Asian fonts; on a machine without
them, pipeline/pdf.py maps them to Noto CJK (templates/fonts.conf).
"""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

OUT = Path(__file__).resolve().parent.parent / "templates" / "bulletin.docx"

FANGSONG, XIAOBIAOSONG, HEITI, KAITI, SONGTI = "仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312", "宋体"
RED = RGBColor(0xFF, 0x00, 0x00)
BODY_PT = 16
LINE = 579                                   # twips: 225 mm of type area / 22 lines ≈ 28.9 pt
CHAR = BODY_PT * 20                          # one character of 3号 text, in twips
CHAR_SPACE = round((156 / 25.4 * 72 / 28 - BODY_PT) * 4096)   # 28 characters in 156 mm: -843
# 28 characters of 16 pt need 448 pt, the type area has 442 pt. Word's character grid
# (docGrid linesAndChars with a negative charSpace) squeezes them, but LibreOffice, which makes
# our PDF, gives each 16 pt character two 15.8 pt grid cells and prints 14 a line. So the grid
# is a line grid, and the text itself is set 0.25 pt tighter: 28 characters a line everywhere.
RECORD_ROW = 10                              # mm, height of each 版记 row
ATTACH_NAME = 6 * CHAR                       # where an attachment's name starts: after "附件：1."
TIGHTER = -5                                 # w:spacing in twentieths of a point

# Column titles and widths (mm, summing to the 156 mm type area) of the ranking table.
# A cell holds its widest line of 10.5 pt text plus 1.6 mm of cell margins: "100.0%" needs 16 mm,
# "100%" 12 mm, the five characters of "（百分点）" 20 mm (at 18 mm it broke as 百分/点), "缺报8月" 17.
CELL_MARGIN = 45                             # twips (0.8 mm) left and right in a table cell
COLUMNS = [("名次", 10), ("单位", 21), ("规模以上\n企业数", 17), ("达标\n企业数", 13), ("达标率", 16),
           ("目标", 12), ("差距\n（百分点）", 20), ("季度\n新增", 10), ("按时\n报送", 10),
           ("正在\n评审", 10), ("备注", 17)]
ROW_CELLS = ["{{ r.rank|dash }}", "{{ r.unit }}", "{{ r.base }}", "{{ r.certified }}", "{{ r.rate|pct }}",
             "{{ r.target|pct(0) }}", "{{ r|gap }}", "{{ r.new_in_quarter }}", "{{ r.on_time }}/3",
             "{{ r.reviewing }}", "{{ r|remark }}"]

# ---------------------------------------------------------------- wording (jinja, one run each)
OPENING = (
    "为推进全区工贸行业企业安全生产标准化建设，按照《二七区安全生产监督管理局关于进一步加强工贸行业"
    "企业安全生产标准化建设工作的实施意见》（二七安监管〔2016〕8号）提出的“2016年底前50%以上、2017年底前"
    "70%以上的规模以上企业按照安全生产标准化三级以上标准有效运行，力争2018年底前所有规模以上企业按照"
    "安全生产标准化三级以上标准有效运行”的目标任务，区安全监管局根据各乡（镇）办事处报送的{{ year }}年"
    "{{ first_month }}月至{{ last_month }}月《工贸企业安全生产标准化月度报表》，对{{ quarter_name }}各乡"
    "（镇）办事处达标创建情况进行了统计排名。现将有关情况通报如下：")

OVERALL = (
    "截至{{ year }}年{{ last_month }}月底，全区共有规模以上工贸企业{{ summary.base }}家，累计完成安全生产"
    "标准化达标创建{{ summary.certified }}家"
    "{% for k in [1, 2, 3] if summary.by_level.get(k) %}{% if loop.first %}（其中{% else %}、{% endif %}"
    "{{ k|cn }}级{{ summary.by_level[k] }}家{% if loop.last %}）{% endif %}{% endfor %}；"
    "{{ quarter_name }}{% if summary.new_in_quarter %}新增达标企业{{ summary.new_in_quarter }}家"
    "{% else %}没有新增达标企业{% endif %}"
    "{% if summary.reviewing %}，另有{{ summary.reviewing }}家企业正在评审{% endif %}。"
    "{% if summary.rate is not none %}全区达标率为{{ summary.rate|pct }}，"
    "{% if summary.rate >= summary.target %}已达到{{ year }}年底{{ summary.target|pct(0) }}的目标"
    "{% else %}距{{ year }}年底{{ summary.target|pct(0) }}的目标还差"
    "{{ (summary.target - summary.rate)|pp }}个百分点，按目标测算年底前还需新增达标企业{{ needed }}家"
    "{% endif %}。{% endif %}"
    "{% if summary.previous_rate is not none and summary.rate is not none %}"
    "{% set d = summary.rate - summary.previous_rate %}与{{ previous_name }}末相比，"
    "{% if summary.previous_certified is not none %}{% set dc = summary.certified - summary.previous_certified %}"
    "全区达标企业{% if dc > 0 %}增加{{ dc }}家{% elif dc < 0 %}减少{{ -dc }}家{% else %}数量持平{% endif %}，"
    "{% endif %}达标率{% if d >= 0.0005 %}提高{{ d|pp }}个百分点{% elif d <= -0.0005 %}下降{{ d|pp }}个百分点"
    "{% else %}基本持平{% endif %}。{% endif %}")

PROGRESS = (
    "{% set n = namespace(sub=0, item=0) %}从排名情况看（排名表见附件1），参加排名的{{ ranked|length }}个单位中，"
    "{% if not reached %}尚无单位达到年度目标"
    "{% elif reached|length == ranked|length %}各单位均已达到年度目标"
    "{% else %}{{ reached|names }}{{ reached|length }}个单位已达到年度目标，"
    "其余{{ ranked|length - reached|length }}个单位尚未达到{% endif %}。")

PRAISE = ("{% set n.sub = n.sub + 1 %}（{{ n.sub|cn }}）表扬先进。",
          ("{% for u in praised %}{{ u }}（达标率{{ rows[u].rate|pct }}）{% if not loop.last %}、{% endif %}"
           "{% endfor %}达标创建工作组织有力、推进扎实，排名位居全区前列，予以通报表扬。希望"
           "{% if praised|length > 1 %}上述单位{% else %}该单位{% endif %}再接再厉，巩固成果，发挥示范带动作用。"))

CRITICIZE = ("{% set n.sub = n.sub + 1 %}（{{ n.sub|cn }}）批评落后。",
             ("{% for u in criticized %}{{ u }}（{% if rows[u].rate is none %}{{ rows[u].status }}"
              "{% else %}达标率{{ rows[u].rate|pct }}{% endif %}）{% if not loop.last %}、{% endif %}{% endfor %}"
              "达标创建工作进展缓慢，排名靠后，予以通报批评。{% if criticized|length > 1 %}上述单位"
              "{% else %}该单位{% endif %}要认真查找原因，制定整改措施，加快推进达标创建工作。"))

REPORTING = ("{% set n.sub = n.sub + 1 %}（{{ n.sub|cn }}）报表报送情况。",
             ("{% if not not_reported and not missed_months and not late %}{{ quarter_name }}各单位均按时报送了"
              "月度报表。{% else %}"
              "{% if not_reported %}{{ not_reported|names }}{{ quarter_name }}未报送月度报表，排名列于末位。{% endif %}"
              "{% if missed_months %}{% for u, ms in missed_months %}{{ u }}（{{ ms|months }}）"
              "{% if not loop.last %}、{% endif %}{% endfor %}缺报部分月份报表。{% endif %}"
              "{% if late %}{% for u, ms in late %}{{ u }}（{{ ms|months }}）{% if not loop.last %}、{% endif %}"
              "{% endfor %}存在迟报情况。{% endif %}"
              "请上述单位严格落实月报制度，于每月底前报送月度报表。{% endif %}"))

# The enterprise register's part (docs/register.md §4–5), only when there is a register.
REGISTER = ("{% set n.sub = n.sub + 1 %}（{{ n.sub|cn }}）企业台账核对情况。",
            ("按区安全监管局企业台账核算，截至{{ year }}年{{ last_month }}月底，"
             "{% if register.unreconciled %}除{{ register.unreconciled|names }}（台账中尚无其企业）外，{% endif %}"
             "全区在册规模以上工贸企业{{ register.base }}家，其中安全生产标准化证书在有效期内的{{ register.certified }}家，"
             "台账达标率为{{ register.rate|pct }}（报表为{{ summary.rate|pct }}）；各单位的规模以上企业数以台账为准。"
             "各单位台账达标率（括号内为报表达标率）："
             "{% for u, own, reported in register.units %}{{ u }}{{ own|pct }}（{{ reported|pct }}）"
             "{% if not loop.last %}、{% endif %}{% endfor %}。"
             "{{ quarter_name }}{% if register.withdrawn or register.expired %}"
             "{% if register.withdrawn %}{{ register.withdrawn }}家企业被摘牌收证{% endif %}"
             "{% if register.withdrawn and register.expired %}，{% endif %}"
             "{% if register.expired %}{{ register.expired }}家企业证书到期{% endif %}"
             "{% else %}没有企业被摘牌或证书到期{% endif %}；"
             "回访达标企业{{ register.revisits }}家次{% if register.revisits %}（"
             "{% for word, k in [('合格', register.passed), ('限期整改', register.rectify), ('摘牌', register.struck),"
             " ('结果未登记', register.unrecorded)] if k %}{{ word }}{{ k }}家次{% if not loop.last %}、{% endif %}"
             "{% endfor %}）{% endif %}。"
             "{% if register.key %}截至季度末，未开展创建、已摘牌或证书过期、列为重点监管的企业共{{ register.key_total }}家："
             "{% for u, k in register.key %}{{ u }}{{ k }}家{% if not loop.last %}、{% endif %}{% endfor %}，"
             "各单位要加大执法检查频次，督促其开展创建。{% endif %}"))

ITEM = "{% set n.item = n.item + 1 %}{{ n.item|cn }}是"
REJECTED = (ITEM + "部分报表质量不高。{{ quarter_name }}共有{{ rejected|sum(attribute=1) }}份月度报表因填报错误"
            "被退回重报，涉及{% for u, c in rejected %}{{ u }}（{{ c }}份）{% if not loop.last %}、{% endif %}"
            "{% endfor %}。")
WARNINGS = (ITEM + "部分报表数据存在疑点。{% for u, title, c in data_warnings %}{{ u }}报表“{{ title }}”{{ c }}处"
            "{% if not loop.last %}，{% endif %}{% endfor %}。请相关单位认真核实，确保数据真实准确。")
FAR_BELOW = (ITEM + "部分单位进度严重滞后。{% for u in far_below %}{{ u }}（{% if rows[u].rate is none %}"
             "{{ rows[u].status }}{% else %}{{ rows[u].rate|pct }}{% endif %}）{% if not loop.last %}、{% endif %}"
             "{% endfor %}达标率不足年度目标的一半，完成全年目标任务难度很大。")
INTERVIEW = (ITEM + "个别单位工作推进不力。{{ interview|names }}继{{ previous_name }}之后再次被通报批评，"
             "达标创建工作未见明显起色。根据二七安监管〔2016〕8号文件关于建立调度、通报、督办、约谈机制的要求，"
             "区安全监管局将约谈{% if interview|length > 1 %}上述单位{% else %}该单位{% endif %}分管负责同志，"
             "予以提示告诫。")
NO_PROBLEM = "{{ quarter_name }}各单位报表质量总体较好，未发现突出问题。"

TABLE_NOTE = (
    "注：1.达标企业数为各单位季度末月报表中一级、二级、三级“累计完成”之和（缺报末月的按其最近一个月"
    "报表计算），正在评审的企业不计入；达标率＝达标企业数÷规模以上企业数；差距＝目标－达标率。"
    "2.排名依次按达标率、季度新增、按时报送月数从高到低确定，三项均相同的并列。"
    "3.{{ quarter_name }}未报送报表的单位列于最后，无规模以上企业的单位不参加排名。")
CHART_NOTE = "注：柱长为各单位达标率，红色虚线为{{ year }}年底目标（{{ summary.target|pct(0) }}）；未报送报表的单位无柱。"


# ---------------------------------------------------------------- XML helpers
def _el(tag: str, **attrs) -> OxmlElement:
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), str(value))
    return el


def _fonts(rpr, name: str) -> None:
    """ascii, hAnsi and East Asian font all `name`; theme fonts removed (they would win)."""
    old = rpr.find(qn("w:rFonts"))
    if old is not None:
        rpr.remove(old)
    rpr.insert(0, _el("w:rFonts", ascii=name, hAnsi=name, eastAsia=name, cs=name))


def _style(doc, name: str, style_id: str, kind=WD_STYLE_TYPE.PARAGRAPH, font: str | None = None,
           size: float | None = None, **para):
    style = doc.styles.add_style(name, kind)
    style.element.set(qn("w:styleId"), style_id)
    style.quick_style = True
    if kind == WD_STYLE_TYPE.PARAGRAPH:
        style.base_style = doc.styles["Normal"]
    if font:
        _fonts(style.element.get_or_add_rPr(), font)
    if size:
        style.font.size = Pt(size)
    fmt = getattr(style, "paragraph_format", None)
    for key, value in para.items():
        setattr(fmt, key, value)
    return style


def _exact(style, twips: int = LINE) -> None:
    _spacing(style).set(qn("w:line"), str(twips))
    _spacing(style).set(qn("w:lineRule"), "exact")


def _single(style) -> None:
    _spacing(style).set(qn("w:line"), "240")
    _spacing(style).set(qn("w:lineRule"), "auto")


def _spacing(style):
    ppr = style.element.get_or_add_pPr()
    sp = ppr.find(qn("w:spacing"))
    if sp is None:
        sp = _el("w:spacing")
        ppr.append(sp)
    return sp


def _before_lines(style, lines: float) -> None:
    _spacing(style).set(qn("w:before"), str(round(lines * LINE)))


def _indent(style, **attrs) -> None:
    ppr = style.element.get_or_add_pPr()
    old = ppr.find(qn("w:ind"))
    if old is not None:
        ppr.remove(old)
    ppr.append(_el("w:ind", **attrs))


def _no_grid(style) -> None:
    style.element.get_or_add_pPr().append(_el("w:snapToGrid", val=0))


def _bottom_border(style, colour: str, size: int, space: int) -> None:
    border = _el("w:pBdr")
    border.append(_el("w:bottom", val="single", sz=size, space=space, color=colour))
    style.element.get_or_add_pPr().append(border)


def _page_field(paragraph) -> None:
    """— PAGE — as a complex field, which Word and LibreOffice both update."""
    paragraph.add_run("— ")
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        if kind:
            run._r.append(_el("w:fldChar", fldCharType=kind))
        elif text == "1":
            run.text = text
        else:
            instr = _el("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
    paragraph.add_run(" —")


def _cell(cell, text: str, style: str, width_mm: float) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    tcpr.append(_el("w:vAlign", val="center"))
    cell.width = Mm(width_mm)
    cell.paragraphs[0].style = style
    cell.paragraphs[0].add_run(text)


def _table_props(table, borders: dict, float_bottom: bool = False) -> None:
    """Replace tblPr (children in schema order): fixed layout, full width, given borders."""
    tbl = table._tbl
    tblpr = tbl.tblPr
    for child in list(tblpr):
        tblpr.remove(child)
    if float_bottom:
        # Its last line on the bottom edge of the type area: two rows of RECORD_ROW mm. Placed
        # from the page's edge, not the margin: LibreOffice keeps a full-width table that is
        # anchored to the margin inline, which would leave the 版记 wherever the text ends.
        tblpr.append(_el("w:tblpPr", leftFromText=0, rightFromText=0, vertAnchor="margin",
                         horzAnchor="page", tblpX=round(28 / 25.4 * 1440),
                         tblpY=round((225 - 2 * RECORD_ROW) / 25.4 * 1440)))
        tblpr.append(_el("w:tblOverlap", val="never"))
    tblpr.append(_el("w:tblW", w=round(156 / 25.4 * 1440), type="dxa"))
    tblpr.append(_el("w:jc", val="center"))
    box = _el("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        size = borders.get(side)
        box.append(_el(f"w:{side}", val="single", sz=size, space=0, color="000000") if size
                   else _el(f"w:{side}", val="nil"))
    tblpr.append(box)
    tblpr.append(_el("w:tblLayout", type="fixed"))
    margins = _el("w:tblCellMar")
    for side in ("left", "right"):
        margins.append(_el(f"w:{side}", w=CELL_MARGIN, type="dxa"))
    tblpr.append(margins)


def _row_height(row, mm: float, header: bool = False, rule: str = "atLeast") -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(_el("w:trHeight", val=round(mm / 25.4 * 1440), hRule=rule))
    if header:
        trpr.append(_el("w:tblHeader"))


# Word rejects a file whose pPr/rPr children are out of schema order; the helpers above append.
PPR_ORDER = [
    "pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
    "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
    "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
    "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection",
    "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"
]
RPR_ORDER = [
    "rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
    "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing", "w",
    "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText", "vertAlign",
    "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath"
]


def _schema_order(doc) -> None:
    for tag, order in (("w:pPr", PPR_ORDER), ("w:rPr", RPR_ORDER)):
        rank = {qn(f"w:{name}"): i for i, name in enumerate(order)}
        for parent in doc.styles.element.iter(qn(tag)):
            children = sorted(parent, key=lambda el: rank.get(el.tag, len(rank)))
            for child in children:
                parent.append(child)


# ---------------------------------------------------------------- the document
def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    _fonts(normal.element.get_or_add_rPr(), FANGSONG)
    normal.font.size = Pt(BODY_PT)
    normal.font.color.rgb = RGBColor(0, 0, 0)
    normal.element.get_or_add_rPr().append(_el("w:spacing", val=TIGHTER))
    _exact(normal)
    _spacing(normal).set(qn("w:before"), "0")
    _spacing(normal).set(qn("w:after"), "0")
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(defaults, FANGSONG)
    lang = defaults.find(qn("w:lang"))
    if lang is None:
        lang = _el("w:lang")
        defaults.append(lang)
    # Digits and Latin letters stay en-US: set as zh-CN, LibreOffice breaks a line inside "2016".
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    for tag in ("w:sz", "w:szCs"):
        defaults.find(qn(tag)).set(qn("w:val"), str(BODY_PT * 2))
    ppr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    spacing = ppr_default[0]
    for key, value in (("after", "0"), ("line", str(LINE)), ("lineRule", "exact")):
        spacing.set(qn(f"w:{key}"), value)
    # Punctuation must not hang past the right margin in the PDF: LibreOffice does not paint a 。 or 、
    # that hangs from a line set with condensed spacing (TIGHTER), nor put it in the PDF's text
    # (LibreOffice 7.4; "予以通报表扬希望"). Without hanging it moves the mark down with the character
    # before it (禁则), as Chinese typesetting does. LibreOffice reads w:overflowPunct the other way
    # round from Word (writerfilter: ParaIsHangingPunctuation = val == 0), so val=1 turns hanging off
    # there and keeps Word's own default, under which Word does paint the hanging mark.
    ppr_default.insert(0, _el("w:overflowPunct", val=1))

    center, left, right, both = (WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT,
                                 WD_ALIGN_PARAGRAPH.RIGHT, WD_ALIGN_PARAGRAPH.JUSTIFY)
    mark = _style(doc, "公文发文机关标志", "GwMark", font=XIAOBIAOSONG, size=30, alignment=center)
    mark.font.color.rgb = RED
    mark.element.get_or_add_rPr().append(_el("w:w", val=80))     # 字形略扁长, as offices print it
    _exact(mark, 900)
    _spacing(mark).set(qn("w:before"), str(round(Mm(31).pt * 20)))  # 标志上边缘距版心上边缘约 35 mm
    _no_grid(mark)

    number = _style(doc, "公文发文字号", "GwNumber", alignment=center)
    _before_lines(number, 2)
    _bottom_border(number, "FF0000", 12, 11)                       # 红色分隔线, 4 mm below

    title = _style(doc, "公文标题", "GwTitle", font=XIAOBIAOSONG, size=22, alignment=center)
    _exact(title, 700)
    _before_lines(title, 2)
    _no_grid(title)

    to = _style(doc, "公文主送机关", "GwTo", alignment=both)
    _before_lines(to, 1)

    body = _style(doc, "公文正文", "GwBody", alignment=both)
    _indent(body, firstLineChars=200, firstLine=2 * CHAR)

    h1 = _style(doc, "公文一级标题", "GwH1", font=HEITI, alignment=both, keep_with_next=True)
    _indent(h1, firstLineChars=200, firstLine=2 * CHAR)

    _style(doc, "公文二级标题字", "GwH2Char", kind=WD_STYLE_TYPE.CHARACTER, font=KAITI)

    # 特此通报, the attachment note and the signature keep together: no page holds only the 落款.
    # 附件：1.名称 — a name that wraps goes on under its own first character (GB/T 9704 7.3.3), so
    # the name starts at a tab stop one character past "1." and the wrapped lines at the same place;
    # "2." stands under "1.".
    note = _style(doc, "公文附件说明", "GwAttachNote", alignment=both, keep_with_next=True)
    _before_lines(note, 1)
    _indent(note, left=ATTACH_NAME, hanging=ATTACH_NAME - 2 * CHAR)
    note2 = _style(doc, "公文附件说明续", "GwAttachNote2", alignment=both, keep_with_next=True)
    _indent(note2, left=ATTACH_NAME, hanging=CHAR)
    for style in (note, note2):
        tabs = _el("w:tabs")
        tabs.append(_el("w:tab", val="left", pos=ATTACH_NAME))
        style.element.get_or_add_pPr().insert(0, tabs)

    sign = _style(doc, "公文署名", "GwSign", alignment=right, keep_with_next=True)
    _before_lines(sign, 2)
    date = _style(doc, "公文成文日期", "GwDate", alignment=right)
    _indent(date, right=4 * CHAR)

    _style(doc, "附件标识", "GwAttachMark", font=HEITI, alignment=left, page_break_before=True)
    att_title = _style(doc, "附件标题", "GwAttachTitle", font=XIAOBIAOSONG, size=18, alignment=center)
    _exact(att_title, 560)
    _spacing(att_title).set(qn("w:before"), str(LINE // 2))
    _spacing(att_title).set(qn("w:after"), str(LINE // 2))
    _no_grid(att_title)

    for name, sid, size, align in (("表格文字", "GwTable", 10.5, center), ("表格注释", "GwTableNote", 10.5, both)):
        style = _style(doc, name, sid, size=size, alignment=align)
        _single(style)
        _no_grid(style)
    _spacing(doc.styles["表格注释"]).set(qn("w:before"), "120")
    header_cell = _style(doc, "表头文字", "GwTableHead", font=HEITI, size=10.5, alignment=center)
    _single(header_cell)
    _no_grid(header_cell)

    picture = _style(doc, "图片", "GwPicture", alignment=center)
    _single(picture)                                                # a fixed line would clip the picture
    _no_grid(picture)

    record = _style(doc, "版记", "GwRecord", size=14, alignment=left)
    _exact(record, 560)
    _indent(record, left=280, right=280)
    _no_grid(record)
    tabs = _el("w:tabs")
    tabs.append(_el("w:tab", val="right", pos=round(156 / 25.4 * 1440) - 2 * CELL_MARGIN - 280))
    record.element.get_or_add_pPr().insert(0, tabs)

    page = _style(doc, "页码", "GwPageNumber", font=SONGTI, size=14)
    _single(page)
    _no_grid(page)


def _section(doc) -> None:
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(23)   # 页码 ≈ 7 mm below the type area
    sectpr = section._sectPr
    for old in sectpr.findall(qn("w:docGrid")):
        sectpr.remove(old)
    sectpr.append(_el("w:docGrid", type="lines", linePitch=LINE, charSpace=CHAR_SPACE))

    doc.settings.odd_and_even_pages_header_footer = True
    odd = section.footer.paragraphs[0]
    odd.style = "页码"
    odd.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    odd.paragraph_format.right_indent = Pt(14)                      # 单页码居右空一字
    _page_field(odd)
    even = section.even_page_footer.paragraphs[0]
    even.style = "页码"
    even.alignment = WD_ALIGN_PARAGRAPH.LEFT
    even.paragraph_format.left_indent = Pt(14)                      # 双页码居左空一字
    _page_field(even)


def _p(doc, style: str, *runs) -> None:
    """A paragraph; each run is text or (text, character style)."""
    paragraph = doc.add_paragraph(style=style)
    for run in runs:
        text, char_style = run if isinstance(run, tuple) else (run, None)
        paragraph.add_run(text, style=char_style)


def _body(doc) -> None:
    h2 = "公文二级标题字"
    _p(doc, "公文发文机关标志", "{{ bureau }}文件")
    _p(doc, "公文发文字号", "{{ doc_number }}")
    _p(doc, "公文标题", "关于{{ year }}年{{ quarter_name }}工贸行业企业\n安全生产标准化达标创建情况的通报")
    _p(doc, "公文主送机关", "各乡（镇）办事处：")
    _p(doc, "公文正文", OPENING)
    _p(doc, "公文一级标题", "一、总体情况")
    _p(doc, "公文正文", OVERALL)
    _p(doc, "公文一级标题", "二、各单位进展情况")
    _p(doc, "公文正文", PROGRESS)
    for condition, (lead, text) in (("praised", PRAISE), ("criticized", CRITICIZE), (None, REPORTING),
                                    ("register", REGISTER)):
        if condition:
            _p(doc, "公文正文", f"{{%p if {condition} %}}")
        _p(doc, "公文正文", (lead, h2), text)
        if condition:
            _p(doc, "公文正文", "{%p endif %}")
    _p(doc, "公文一级标题", "三、存在问题")
    for condition, text in (("rejected", REJECTED), ("data_warnings", WARNINGS), ("far_below", FAR_BELOW),
                            ("interview", INTERVIEW), ("n.item == 0", NO_PROBLEM)):
        _p(doc, "公文正文", f"{{%p if {condition} %}}")
        _p(doc, "公文正文", text)
        _p(doc, "公文正文", "{%p endif %}")
    _p(doc, "公文一级标题", "四、下一步工作要求")
    _p(doc, "公文正文", "{%p for lead, text in next_steps %}")
    _p(doc, "公文正文", ("{{ lead }}", h2), "{{ text }}")
    _p(doc, "公文正文", "{%p endfor %}")
    _p(doc, "公文正文", "特此通报。")
    doc.paragraphs[-1].paragraph_format.keep_with_next = True
    _p(doc, "公文附件说明", "附件：1.\t{{ year }}年{{ quarter_name }}各乡（镇）办事处安全生产标准化达标创建情况排名表")
    _p(doc, "公文附件说明续", "2.\t{{ year }}年{{ quarter_name }}各乡（镇）办事处安全生产标准化达标率对比图")
    _p(doc, "公文署名", "{{ bureau }}")
    _p(doc, "公文成文日期", "{{ issued|cndate }}")


def _ranking_table(doc) -> None:
    _p(doc, "附件标识", "附件1")
    _p(doc, "附件标题", "{{ year }}年{{ quarter_name }}各乡（镇）办事处\n安全生产标准化达标创建情况排名表")
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
    _p(doc, "附件标题", "{{ year }}年{{ quarter_name }}各乡（镇）办事处\n安全生产标准化达标率对比图")
    _p(doc, "图片", "{{ chart }}")
    _p(doc, "表格注释", CHART_NOTE)


def _record(doc) -> None:
    """版记: 抄送 and 印发, between a 0.35 mm line above, 0.25 mm between and 0.35 mm below,
    floated to the bottom of the type area of the last page."""
    table = doc.add_table(rows=2, cols=1)
    table.autofit = False
    _table_props(table, {"top": 8, "insideH": 6, "bottom": 8}, float_bottom=True)
    table.columns[0].width = Mm(156)
    _cell(table.rows[0].cells[0], "抄送：{{ copy_to }}。", "版记", 156)
    _cell(table.rows[1].cells[0], "{{ issuer }}\t{{ issued|cndate }}印发", "版记", 156)
    for row in table.rows:
        _row_height(row, RECORD_ROW, rule="exact")
    doc.add_paragraph(style="表格文字")


APP_XML = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.openxmlformats.'
           'org/officeDocument/2006/extended-properties"><Template>Normal.dotm</Template></Properties>')


def _package(doc) -> None:
    """Only what this document is: python-docx's default package says it was made by "Microsoft
    Macintosh Word" in 2013, carries a blank thumbnail and a bibliography part, and sets the theme's
    East Asian language to ja-JP. The rendered 通报 gets its own title, author and dates
    (pipeline/bulletin.py)."""
    package = doc.part.package
    for rel_id, rel in list(package.rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            package.rels.pop(rel_id)
    for rel_id, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/customXml"):
            doc.part.rels.pop(rel_id)
    for part in package.iter_parts():
        if part.partname == "/docProps/app.xml":
            part._blob = APP_XML.encode("utf-8")
    doc.settings.element.find(qn("w:themeFontLang")).set(qn("w:eastAsia"), "zh-CN")
    core = doc.core_properties
    core.title = "工贸行业企业安全生产标准化达标创建情况通报（模板）"
    core.author = core.last_modified_by = "郑州市二七区安全生产监督管理局"
    core.comments = ""
    core.language = "zh-CN"


def build(out: Path = OUT) -> Path:
    doc = Document()
    _package(doc)
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
