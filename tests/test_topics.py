from __future__ import annotations

from test_cleaning import doc

import pytest

from civicsearch import SearchEngine
from civicsearch.ingest.docno import find_docnos, normalize_query
from civicsearch.ingest.kinds import document_kind
from civicsearch.ingest.topics import assign_topics, topic_classes


def test_the_official_classes_are_all_there():
    classes = topic_classes()
    assert len(classes) == 22
    assert {"综合政务", "城乡建设、环境保护", "民政、扶贫、救灾", "卫生、体育", "公安、安全、司法"} <= set(classes)


def test_seed_topics_and_the_source_label_beside_them():
    plan = doc("001")
    assert plan.topics[0] == "城乡建设、环境保护" and "重大行动计划" in plan.topics
    assert plan.doc_type == "规划计划"
    assert doc("000").topics[0] == "城乡建设、环境保护" and doc("000").doc_type == "新闻"
    assert doc("002").doc_type == "会议" and doc("003").doc_type == "工作报告"


def test_boilerplate_alone_gives_no_topic():
    text = "坚持党建引领，加强党的建设，推动高质量发展，全面贯彻落实党的二十大精神，提升服务水平。"
    assert assign_topics("街道召开党工委会议", text) == []


def test_a_clear_subject_wins_over_boilerplate():
    body = "坚持党建引领。社区卫生服务中心开展家庭医生签约，医院专家义诊，做好疫苗接种和全民健身。"
    assert assign_topics("社区卫生服务中心开展健康义诊", body)[0] == "卫生、体育"
    assert document_kind("关于做好垃圾分类工作的通知", "") == "通知"


def test_document_numbers_in_any_bracket_style_normalise_to_one():
    assert find_docnos("国办发〔2024〕1号") == find_docnos("国办发[2024]1号") == find_docnos("国办发（2024）1号") == ["国办发〔2024〕1号"]
    assert find_docnos("根据《通知》（沪府办规〔2023〕12号）和第3条") == ["沪府办规〔2023〕12号"]
    assert normalize_query("国办发[2024]1号") == ("国办发〔2024〕1号", True)
    assert normalize_query("国办发") == ("国办发", False)
    assert normalize_query("国办发(2024)") == ("国办发〔2024〕", False)


def test_search_by_document_number_exactly_and_by_prefix(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("国务院办公厅关于加强基层治理的意见\n国办发〔2024〕1号\n各省、自治区、直辖市人民政府：加强基层治理。", "utf-8")
    (corpus / "b.txt").write_text("国务院办公厅关于优化营商环境的通知\n国办发〔2023〕7号\n各省人民政府：优化营商环境。", "utf-8")
    (corpus / "c.txt").write_text("上海市人民政府办公厅通知\n沪府办规（2024）3号\n各区人民政府：做好工作。", "utf-8")
    engine = SearchEngine(tmp_path / "ix")
    engine.index([corpus])

    def ids(q):
        return sorted(h.doc_id for h in engine.search(q).hits)

    assert ids("文号:国办发[2024]1号") == ids("docno:国办发（2024）1号") == ["a.txt"]
    assert ids("文号:国办发") == ["a.txt", "b.txt"]
    assert ids("文号:国办发〔2023〕") == ["b.txt"]
    assert ids("文号:沪府办规 做好") == ["c.txt"]
    assert engine.get("a.txt").docnos == ["国办发〔2024〕1号"]


@pytest.mark.parametrize("text, replies", [
    ("网友您好！您反映的问题已收悉。", True),  # an addressee, then a greeting
    ("来信人：", True),
    ("首先，非常感谢您对我们工作的支持。", True),
    ("市住建局回复：您好，", True),  # a few words in: the reply's own label
    ("我局于近日收到您的来信。", True),
    ("您反映的路灯问题，我局高度重视，", True),
    ("你好！关于你反映的问题，", True),
    ("您的留言已收悉。", True),
    ("经调查核实，现将有关情况答复如下：", True),
    ("以下为对此留言的回复", True),  # words that mark a reply wherever they stand
    ("本月网络交办件已收悉", True),
    ("市政府召开常务会议", False),
    ("关于加装电梯的通知", False),
    ("举报电话：12345", False),  # a lead word, no way it opens
    ("如下所述，市民回复率上升。" + "很" * 120 + "回复如下", False),  # past the reach of the opening
    ("", False),
])
def test_a_reply_is_told_by_how_it_opens(text, replies):
    from civicsearch.ingest.kinds import _opens_reply

    assert _opens_reply(text) is replies
    assert (document_kind(text, "正文。") == "答复") is replies  # as a title
