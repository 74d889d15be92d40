"""The quarterly 通报: layout (GB/T 9704, docs/bulletin.md), wording that follows the situation, HTML
escaping, and one real PDF conversion (slow)."""
from __future__ import annotations

import dataclasses
import datetime
import html
import re
import shutil
import subprocess
import zipfile

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from pipeline.outputs import pdf
from pipeline.outputs.bulletin import DOCX_TEMPLATE, docx_blocks, render_bulletin, render_docx, render_html
from pipeline.outputs.bulletin_context import sample_context, template_context
from pipeline.outputs.chart import cjk_font, draw_chart

import pdfs

BUREAU = "郑州市二七区安全生产监督管理局"


@pytest.fixture(scope="module")
def chart(tmp_path_factory):
    ctx = sample_context()
    return draw_chart(ctx.ranking, ctx.summary.target, tmp_path_factory.mktemp("chart") / "chart.png", "目标")


@pytest.fixture(scope="module")
def doc(tmp_path_factory, chart):
    return Document(render_docx(sample_context(), tmp_path_factory.mktemp("docx") / "通报.docx", chart))


@pytest.fixture
def render(tmp_path, chart):
    """Render sample_context() with some fields replaced; the document's paragraphs as text."""
    def run(**changes) -> str:
        path = render_docx(sample_context(**changes), tmp_path / "通报.docx", chart)
        return "\n".join(p.text for p in Document(path).paragraphs)
    return run


def style_font(style) -> str:
    return style.element.rPr.rFonts.get(qn("w:eastAsia"))


def paragraphs(doc, style: str) -> list:
    return [p for p in doc.paragraphs if p.style.name == style]


def text(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


# ---------------------------------------------------------------- layout
def test_page_is_a4_with_gb_margins(doc):
    section = doc.sections[0]
    for actual, mm in ((section.page_width, 210), (section.page_height, 297), (section.top_margin, 37),
                       (section.bottom_margin, 35), (section.left_margin, 28), (section.right_margin, 26)):
        assert abs(actual - Mm(mm)) < Mm(0.1)


def test_grid_of_22_lines_of_28_characters(doc):
    grid = doc.sections[0]._sectPr.find(qn("w:docGrid"))
    assert int(grid.get(qn("w:linePitch"))) * 22 == pytest.approx(Mm(225).pt * 20, abs=22)
    assert int(grid.get(qn("w:charSpace"))) == pytest.approx((Mm(156).pt / 28 - 16) * 4096, abs=2)
    normal = doc.styles["Normal"].element.pPr.find(qn("w:spacing"))
    assert (normal.get(qn("w:line")), normal.get(qn("w:lineRule"))) == (grid.get(qn("w:linePitch")), "exact")


def test_body_is_16pt_fangsong_set_as_east_asian_font(doc):
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16)
    fonts = normal.element.rPr.rFonts
    assert {fonts.get(qn(f"w:{a}")) for a in ("eastAsia", "ascii", "hAnsi")} == {"仿宋_GB2312"}
    body = paragraphs(doc, "公文正文")
    assert len(body) > 10 and all(p.style.base_style.name == "Normal" for p in body)
    assert all(r.font.size is None and r.font.name is None for p in body for r in p.runs)


def test_title_is_22pt_xiaobiaosong_centred_in_two_whole_lines(doc):
    [title] = paragraphs(doc, "公文标题")
    assert style_font(title.style) == "方正小标宋简体"
    assert title.style.font.size == Pt(22)
    assert title.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert title.text == "关于2016年第三季度工贸行业企业\n安全生产标准化达标创建情况的通报"


def test_issuing_authority_mark_is_red_and_centred(doc):
    [mark] = paragraphs(doc, "公文发文机关标志")
    assert mark.text == f"{BUREAU}文件"
    assert str(mark.style.font.color.rgb) == "FF0000"
    assert style_font(mark.style) == "方正小标宋简体"
    assert mark.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER


def test_document_number_with_red_line_below(doc):
    [number] = paragraphs(doc, "公文发文字号")
    assert number.text == "二七安监管〔2016〕21号"
    line = number.style.element.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert line.get(qn("w:color")) == "FF0000"


def test_headings_in_heiti_and_kaiti(doc):
    h1 = paragraphs(doc, "公文一级标题")
    assert [p.text for p in h1] == ["一、总体情况", "二、各单位进展情况", "三、存在问题", "四、下一步工作要求"]
    assert style_font(h1[0].style) == "黑体"
    assert style_font(doc.styles["公文二级标题字"]) == "楷体_GB2312"
    leads = [r.text for p in doc.paragraphs for r in p.runs if r.style.name == "公文二级标题字"]
    assert leads[:3] == ["（一）表扬先进。", "（二）批评落后。", "（三）报表报送情况。"]


def test_attachment_note_signature_and_date(doc):
    assert paragraphs(doc, "公文附件说明")[0].text == \
        "附件：1.\t2016年第三季度各乡（镇）办事处安全生产标准化达标创建情况排名表"
    assert paragraphs(doc, "公文附件说明续")[0].text == "2.\t2016年第三季度各乡（镇）办事处安全生产标准化达标率对比图"


def test_a_wrapped_attachment_name_lines_up_with_its_first_character(doc):
    # GB/T 9704: 附件名称回行时与上一行附件名称的首字对齐; "附件：" two characters in, "2." under "1.".
    char = Pt(16).twips
    for style, first_line in (("公文附件说明", 2), ("公文附件说明续", 5)):
        ppr = doc.styles[style].element.pPr
        ind, [tab] = ppr.find(qn("w:ind")), ppr.find(qn("w:tabs"))
        left, hanging = int(ind.get(qn("w:left"))), int(ind.get(qn("w:hanging")))
        assert left - hanging == first_line * char
        assert int(tab.get(qn("w:pos"))) == left == 6 * char      # the name after "附件：1." on the tab stop
    assert paragraphs(doc, "公文署名")[0].text == BUREAU
    [date] = paragraphs(doc, "公文成文日期")
    assert date.text == "2016年10月10日"
    assert date.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.RIGHT


def test_attachments_start_on_new_pages_flush_left(doc):
    marks = paragraphs(doc, "附件标识")
    assert [p.text for p in marks] == ["附件1", "附件2"]
    style = marks[0].style
    assert style.paragraph_format.page_break_before is True
    assert style_font(style) == "黑体"
    assert style.paragraph_format.first_line_indent in (None, 0)


def test_page_numbers_on_the_outer_side_of_odd_and_even_pages(doc):
    assert doc.settings.odd_and_even_pages_header_footer
    section = doc.sections[0]
    for footer, side in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        [paragraph] = footer.paragraphs
        assert paragraph.alignment == side
        assert "PAGE" in "".join(t.text for t in paragraph._p.iter(qn("w:instrText")))
        assert paragraph.text.startswith("— ") and paragraph.text.endswith(" —")
        assert paragraph.style.font.size == Pt(14)


def test_ranking_table_lists_every_unit_in_small_single_spaced_type(doc):
    table = doc.tables[0]
    assert [c.text.replace("\n", "") for c in table.rows[0].cells] == [
        "名次", "单位", "规模以上企业数", "达标企业数", "达标率", "目标", "差距（百分点）", "季度新增", "按时报送",
        "正在评审", "备注"]
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(rows) == 16
    assert rows[0] == ["1", "淮河路街道", "12", "8", "66.7%", "50%", "已达标", "2", "3/3", "1", "并列"]
    assert rows[12][1::11] == ["长江路街道"] and rows[12][-1] == "缺报8月"
    assert rows[-1] == ["—", "侯寨乡", "18", "0", "—", "50%", "—", "0", "0/3", "0", "未报送"]
    cell_style = table.rows[1].cells[0].paragraphs[0].style
    assert cell_style.font.size <= Pt(12)
    assert cell_style.element.pPr.find(qn("w:spacing")).get(qn("w:lineRule")) == "auto"


def test_chart_is_a_picture_in_a_single_spaced_paragraph(doc):
    [picture] = paragraphs(doc, "图片")
    assert picture._p.findall(".//" + qn("w:drawing"))
    assert picture.style.element.pPr.find(qn("w:spacing")).get(qn("w:lineRule")) != "exact"


def test_record_between_lines_at_the_end(doc):
    record = doc.tables[-1]
    assert [r.cells[0].text for r in record.rows] == [
        "抄送：区安委会办公室。", "郑州市二七区安全生产监督管理局办公室\t2016年10月10日印发"]
    borders = record._tbl.tblPr.find(qn("w:tblBorders"))
    sizes = {side: borders.find(qn(f"w:{side}")).get(qn("w:sz")) for side in ("top", "insideH", "bottom")}
    assert sizes == {"top": "8", "insideH": "6", "bottom": "8"}       # 0.35 mm, 0.25 mm, 0.35 mm
    assert record.rows[0].cells[0].paragraphs[0].style.font.size == Pt(14)


def test_document_properties_name_this_bulletin_its_bureau_and_the_run(tmp_path, chart):
    made = datetime.datetime(2016, 10, 11, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    path = render_docx(sample_context(), tmp_path / "通报.docx", chart, made)
    core = Document(path).core_properties
    assert core.title == "关于2016年第三季度工贸行业企业安全生产标准化达标创建情况的通报"
    assert (core.author, core.last_modified_by) == (BUREAU, BUREAU)
    assert core.created == core.modified == made
    assert core.language == "zh-CN" and core.comments == "" and core.keywords == "二七安监管〔2016〕21号"
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        app, settings = z.read("docProps/app.xml").decode(), z.read("word/settings.xml").decode()
    assert not any("thumbnail" in n or n.startswith("customXml/") for n in names)
    assert "Microsoft" not in app and 'w:eastAsia="zh-CN"' in settings and "ja-JP" not in settings


# ---------------------------------------------------------------- wording follows the situation
def test_sample_wording(doc):
    body = text(doc)
    assert "全区达标率为36.3%，距2016年底50%的目标还差13.7个百分点" in body
    assert "与第二季度末相比，全区达标企业增加13家，达标率提高7.3个百分点。" in body
    assert "淮河路街道（达标率66.7%）、铭功路街道（达标率66.7%）、五里堡街道（达标率54.5%）" in body
    assert "侯寨乡第三季度未报送月度报表" in body
    assert "蜜蜂张街道（8月）、嵩山路街道（7月、9月）存在迟报情况。" in body
    assert "德化街街道继第二季度之后再次被通报批评" in body and "约谈该单位" in body
    assert "特此通报。" in body


def test_no_sentence_about_lateness_when_nobody_was_late(render):
    body = render(late=())
    assert "迟报" not in body
    assert "长江路街道（8月）缺报部分月份报表。" in body


def test_everyone_on_time(render):
    body = render(late=(), missed_months=(), not_reported=())
    assert "第三季度各单位均按时报送了月度报表。" in body
    assert "迟报" not in body and "请上述单位严格落实月报制度" not in body


def test_comparison_with_previous_quarter_only_when_there_is_one(render):
    summary = dataclasses.replace(sample_context().summary, previous_rate=None, previous_certified=None)
    assert "与第二季度末相比" not in render(summary=summary)
    fell = dataclasses.replace(summary, previous_rate=0.40, previous_certified=70)
    assert "与第二季度末相比，全区达标企业减少5家，达标率下降3.7个百分点。" in render(summary=fell)


def test_first_quarter_compares_with_last_years_fourth(render):
    body = render(quarter=1, period="2016Q1")
    assert "与2015年第四季度末相比" in body and "2016年1月至3月" in body


def test_numbering_stays_consecutive_when_a_part_is_empty(render):
    body = render(praised=())
    assert "表扬" not in body
    assert "（一）批评落后。" in body and "（二）报表报送情况。" in body
    problems = render(rejected=(), data_warnings=())
    assert "一是部分单位进度严重滞后。" in problems and "二是个别单位工作推进不力。" in problems


def test_no_problems_found(render):
    body = render(rejected=(), data_warnings=(), far_below=(), interview=())
    assert "第三季度各单位报表质量总体较好，未发现突出问题。" in body
    assert "约谈" not in body.split("四、下一步工作要求")[0]


def test_district_at_target(render):
    summary = dataclasses.replace(sample_context().summary, certified=100, rate=100 / 179)
    body = render(summary=summary)
    assert "全区达标率为55.9%，已达到2016年底50%的目标。" in body and "还需新增" not in body


def test_a_target_of_all_enterprises_is_not_worded_as_100_percent_or_more(render):
    summary = dataclasses.replace(sample_context().summary, target=1.0)
    body = render(year=2018, summary=summary)
    assert "对照2018年底前所有规模以上企业达标的目标任务" in body and "100%以上" not in body
    assert "对照2016年底前50%以上规模以上企业达标的目标任务" in render()


def test_date_in_arabic_numerals_without_leading_zeros(render):
    assert "\n2016年1月5日\n" in render(issued=datetime.date(2016, 1, 5))


def test_context_derivations():
    values = template_context(sample_context())
    assert values["quarter_name"] == "第三季度" and values["previous_name"] == "第二季度"
    assert values["needed"] == 25                       # ceil(0.5 × 179) − 65
    assert [lead for lead, _ in values["next_steps"]][:2] == ["（一）提高思想认识，加快达标创建进度。",
                                                             "（二）加强督促指导，推动企业自主创建。"]


# ---------------------------------------------------------------- HTML, chart, conversion
def test_html_escapes_a_hostile_unit_name_and_embeds_the_chart(tmp_path, chart):
    hostile = "<script>alert(1)</script>街道"
    ctx = sample_context()
    ranking = tuple(dataclasses.replace(r, unit=hostile) if r.unit == "淮河路街道" else r for r in ctx.ranking)
    ctx = sample_context(ranking=ranking, praised=(hostile, "铭功路街道"))
    docx = render_docx(ctx, tmp_path / "通报.docx", chart)
    html = render_html(ctx, docx, chart, tmp_path / "通报.html").read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;街道（达标率66.7%）" in html
    assert '<img src="data:image/png;base64,' in html
    assert "<title>关于2016年第三季度工贸行业企业安全生产标准化达标创建情况的通报</title>" in html
    assert f"（一）表扬先进。{hostile}（达标率66.7%）" in text(Document(docx))     # the .docx stayed valid


def test_html_says_what_the_docx_says(tmp_path, chart):
    ctx = sample_context()
    docx = render_docx(ctx, tmp_path / "通报.docx", chart)
    page = render_html(ctx, docx, chart, tmp_path / "通报.html").read_text(encoding="utf-8")
    shown = html.unescape(re.sub(r"<[^>]+>", "", page))
    for paragraph in Document(docx).paragraphs:
        for line in paragraph.text.split("\n"):
            assert line in shown


def test_no_value_label_of_the_chart_is_crossed_by_the_target_line():
    import matplotlib
    import numpy as np

    from pipeline.outputs.chart import TARGET, chart_figure
    rows = tuple(dataclasses.replace(r, rate=rate, certified=round(rate * r.base))
                 for r, rate in zip(sample_context().ranking[:4], (0.475, 0.49, 0.46, 0.30)))   # labels over 50 %
    with matplotlib.rc_context({"font.family": [cjk_font()]}):
        fig = chart_figure(rows, 0.5, "2016年底目标")
        fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(int)
    ax = fig.axes[0]
    x = round(ax.transData.transform((0.5, 0))[0])
    red = np.array([int(TARGET[k:k + 2], 16) for k in (1, 3, 5)])
    crossed = 0
    for text in ax.texts:
        box = text.get_window_extent()
        if re.fullmatch(r"\d+\.\d%", text.get_text()) and box.x0 < x < box.x1:   # a value label
            crossed += 1
            top, bottom = pixels.shape[0] - round(box.y1), pixels.shape[0] - round(box.y0)
            column = pixels[top:bottom, x]
            assert not (np.abs(column - red).sum(axis=1) < 60).any(), text.get_text()   # no red of the line
    assert crossed == 3                                   # 47.5 %, 49.0 %, 46.0 % reach across 50 %
    legend = ax.get_legend().get_window_extent()
    assert legend.y1 < ax.get_window_extent().y0          # the legend below the plot, over no bar


def test_chart_font_has_chinese_glyphs():
    assert "CJK" in cjk_font()


def test_template_is_committed_next_to_its_builder():
    assert DOCX_TEMPLATE.exists()


def test_missing_soffice_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pdf.ConversionError, match="soffice"):
        pdf.to_pdf(tmp_path / "x.docx", tmp_path)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The one LibreOffice conversion of this module."""
    return render_bulletin(sample_context(), tmp_path_factory.mktemp("bulletin"), "通报")


@pytest.mark.slow
def test_render_bulletin_writes_every_kind(rendered):
    assert set(rendered) == {"docx", "pdf", "html", "chart"}
    assert all(path.exists() and path.stat().st_size > 0 for path in rendered.values())
    assert rendered["docx"].name == "通报.docx" and rendered["pdf"].name == "通报.pdf"


@pytest.mark.slow
def test_pdf_embeds_a_cjk_font_and_shows_the_text(rendered):
    assert any("CJK" in name for name in pdf.pdf_fonts(rendered["pdf"], embedded_only=True))
    if shutil.which("pdftotext"):
        first = subprocess.run(["pdftotext", "-l", "1", str(rendered["pdf"]), "-"], capture_output=True,
                               text=True, check=True).stdout
        assert f"{BUREAU}文件" in first and "二七安监管〔2016〕21" in first


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def docx_text(path) -> str:
    """Every paragraph and table cell of the .docx body, in order (the chart is a picture)."""
    parts = []
    for block in docx_blocks(path):
        parts += [t for t, _ in block.runs] + [cell for row in block.rows for cell in row]
    return "".join(parts)


def printed_text(path) -> str:
    """The PDF's text page by page, each page's number (— 3 —) taken off its foot."""
    pages = []
    for n in range(1, pdf.page_count(path) + 1):
        pages.append(re.sub(rf"—\s*{n}\s*—\s*$", "", pdfs.pdf_text(path, n, n).strip()))
    return "".join(pages)


@pytest.mark.slow
def test_pdf_text_is_the_docx_text_punctuation_included(rendered):
    # LibreOffice dropped a 。 or 、 that hung past the right margin ("予以通报表扬希望上述单位").
    said, printed = squeezed(docx_text(rendered["docx"])), squeezed(printed_text(rendered["pdf"]))
    assert said.count("。") > 30 and said.count("、") > 30
    assert printed == said


@pytest.mark.slow
def test_record_stands_alone_on_the_last_even_page_without_a_number(rendered):
    pages = pdf.page_count(rendered["pdf"])
    assert pages % 2 == 0
    last = pdfs.pdf_text(rendered["pdf"], pages, pages)
    assert squeezed(last) == "抄送：区安委会办公室。郑州市二七区安全生产监督管理局办公室2016年10月10日印发"
    assert f"— {pages - 1} —" in pdfs.pdf_text(rendered["pdf"], pages - 1, pages - 1)


@pytest.mark.slow
def test_a_record_on_its_own_page_comes_after_a_blank_one_when_the_text_ends_on_an_even_page(tmp_path, chart):
    record = "抄送：区安委会办公室。郑州市二七区安全生产监督管理局办公室2016年10月10日印发"
    ctx = sample_context(interview=(), data_warnings=(), rejected=(), far_below=())   # the text ends on page 6
    shared = pdf.to_pdf(render_docx(ctx, tmp_path / "共页.docx", chart), tmp_path)
    assert pdf.page_count(shared) == 6                                  # the 版记 fits under the chart, page 6
    last = squeezed(pdfs.pdf_text(shared, 6, 6))
    assert last.startswith("附件2") and last.endswith(record) and "—6—" in last
    apart = pdf.to_pdf(render_docx(ctx, tmp_path / "另页.docx", chart, record_apart=True), tmp_path)
    assert pdf.page_count(apart) == 8                                   # made to stand apart: 7 blank, 8 the 版记
    assert squeezed(pdfs.pdf_text(apart, 7, 7)) == "" and squeezed(pdfs.pdf_text(apart, 8, 8)) == record


@pytest.mark.slow
def test_a_100_percent_year_fits_its_ranking_table_cells(tmp_path, chart):
    ctx = sample_context()
    rows = tuple(dataclasses.replace(r, target=1.0, gap=None if r.rate is None else 1.0 - r.rate)
                 for r in ctx.ranking)
    rows = (dataclasses.replace(rows[0], certified=12, rate=1.0, gap=0.0),) + rows[1:]
    ctx = sample_context(year=2018, period="2018Q3", ranking=rows,
                         summary=dataclasses.replace(ctx.summary, target=1.0))
    docx = render_docx(ctx, tmp_path / "通报.docx", chart)
    lines = pdfs.pdf_text(pdf.to_pdf(docx, tmp_path)).splitlines()
    table = lines[lines.index("附件 1"):lines.index("附件 2")]
    assert "（百分点）" in table                                  # not 百分 / 点
    assert table.count("1 淮河路街道 12 12 100.0% 100% 已达标 2 3/3 1 并列") == 1
    assert sum(" 100% " in line for line in table) == 16            # every row's target on its line


@pytest.mark.slow
def test_pdf_pages_render_to_png(rendered, tmp_path):
    pages = pdfs.to_png(rendered["pdf"], tmp_path, dpi=20)
    assert len(pages) >= 5 and all(p.suffix == ".png" for p in pages)


def test_html_shows_each_units_rate_month_by_month(tmp_path, chart):
    from pipeline.outputs.trends import Trend
    hostile = "<b>x</b>街道"
    months = ("2016-07", "2016-08", "2016-09")
    trends = (Trend("淮河路街道", months, (0.5, None, 0.6)), Trend(hostile, months, (0.1, 0.2, 0.3)))
    ctx = sample_context(trends=trends)
    page = render_html(ctx, render_docx(ctx, tmp_path / "通报.docx", chart), chart, tmp_path / "通报.html").read_text(
        encoding="utf-8")
    section = page[page.index('<section class="trends">'):]
    assert section.count("<svg") == 2 and "走势（7月至9月）" in section
    first = section[section.index("<svg"):section.index("</svg>")]
    assert "<title>7月50.0%、8月未报、9月60.0%</title>" in first
    assert first.count("<circle") == 2 and "<polyline" not in first   # no line across the month not reported
    assert "&lt;b&gt;x&lt;/b&gt;街道" in section and "<b>x</b>" not in page
    assert "9月 30.0%" in section
    plain = render_html(sample_context(), render_docx(sample_context(), tmp_path / "b.docx", chart), chart,
                        tmp_path / "b.html").read_text(encoding="utf-8")
    assert "<svg" not in plain
