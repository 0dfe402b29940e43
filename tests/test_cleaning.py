from __future__ import annotations

from conftest import seed

from civicsearch.ingest.cleaning import clean
from civicsearch.ingest.documents import build_document
from civicsearch.ingest.headers import parse_date, split_header
from civicsearch.ingest.readers import read_path


def doc(prefix: str):
    path = seed(prefix)
    (rec,) = list(read_path(path, path.parent))
    return build_document(rec)


def test_aggregator_repost_is_cleaned_and_its_source_saved():
    d = doc("003")
    assert d.title == "向大厂人民汇报!今年推进了老旧小区引进物业,新华七村幼儿园等重点民生项目建设等..."
    assert "文章图片" not in d.body
    assert " , " not in d.body and " 。" not in d.body
    assert "推荐阅读" not in d.body and "人造卫星" not in d.body and "本文原始标题" not in d.body
    assert d.body.endswith("会上,街道群众代表对街道工作进行满意度测评。")
    assert d.source == "幸福大厂"
    # The original text is kept as read for display.
    assert "推荐阅读" in d.original


def test_trailing_statement_ads_and_phone_numbers_are_cut():
    d = doc("004")
    for junk in ("特别声明", "转载请注明", "13524678515", "郭刚堂", "长按", "版权声明"):
        assert junk not in d.body, junk
    assert d.body.endswith("不断展现新作为!")
    assert d.source == "上海宝山官方微信"
    assert d.title == "以党建引领凝聚发展合力!宝山区顾村镇打造产业集聚新高地"


def test_ocr_newspaper_lines_are_rejoined_and_the_headline_found():
    d = doc("002")
    assert d.title == "莘庄镇召开明年工作思路务虚会"
    assert "李慧具体圈划了2019年的工作思路和工作重点。" in d.body
    assert "打造更辉煌的莘庄。" in d.body
    assert "扫描二维码" not in d.body
    # Headings and captions stay on their own lines.
    assert "\n春申复地城(一期)解决停车难\n" in d.body


def test_disclosure_header_becomes_metadata_and_leaves_the_body():
    d = doc("001")
    assert d.title == "2023年嘉定镇街道规划计划"
    assert d.meta["索引号"] == "00001434-9/2023-00000020"
    assert "重大行动计划" in d.topics
    assert d.date is not None and d.date.date().isoformat() == "2023-01-04" and d.date_source == "header"
    assert "索引号" not in d.body and "浏览次数" not in d.body and "发布时间" not in d.body
    assert d.body.startswith("2023年是全面贯彻落实党的二十大精神的开局之年")


def test_front_matter_date_is_converted_to_china_time():
    d = doc("000")
    assert d.date is not None and d.date.isoformat() == "2021-12-23T21:18:49"
    assert d.date_precision == "day" and d.date_source == "metadata"


def test_header_split_keeps_empty_labels_out_of_the_body():
    fields, rest = split_header("索引号: X1 发布机构:\n关键词:\n正文第一行")
    assert fields["索引号"] == "X1" and fields["发布机构"] == ""
    assert rest == "正文第一行"


def test_explicit_dates_in_every_form():
    cases = {
        "Thu, 23 Dec 2021 13:18:49 GMT": ("2021-12-23", "day"),
        "2023年01月04日": ("2023-01-04", "day"),
        "2023-01-04 08:30:00": ("2023-01-04", "day"),
        "二〇二三年一月四日": ("2023-01-04", "day"),
        "2023/1/4": ("2023-01-04", "day"),
        "2023-01": ("2023-01-01", "month"),
        "2023": ("2023-01-01", "year"),
    }
    for text, (iso, precision) in cases.items():
        parsed = parse_date(text)
        assert parsed is not None, text
        assert (parsed.value.date().isoformat(), parsed.precision) == (iso, precision), text
    assert parse_date("2999-01-01") is None  # never in the future
    assert parse_date("5371.2") is None and parse_date("1+1+N") is None


def test_placeholders_and_spacing_in_isolation():
    c = clean("第一段 , 内容 。\n文章图片\n第二段:“引文” , 然后\n推荐阅读\n- 无关标题")
    assert c.text == "第一段,内容。\n第二段:“引文”,然后"


def test_a_one_paragraph_reply_that_gives_a_phone_number_is_kept_whole():
    # Official replies are often one line ending with a contact number: that line
    # is the document, not a trailing ad (892 bench replies were emptied by this).
    reply = ("网友您好！您的留言已收悉。现将有关情况回复如下：请您携带《户口迁移证》到派出所户政部门办理。"
             "如需继续咨询，请与0731-88888888联系。感谢您对我们工作的支持！")
    assert clean(reply).text == reply
    # A short trailing line of contact details after the text still goes.
    assert clean("正文第一段说明了情况。\n咨询电话：0731-88888888").text == "正文第一段说明了情况。"
