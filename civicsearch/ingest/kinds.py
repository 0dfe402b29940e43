"""The kind of a document (文种): what civic searchers narrow by.

The statutory kinds of official documents (党政机关公文处理工作条例: 决议, 决定, 命令, 公报,
公告, 通告, 意见, 通知, 通报, 报告, 请示, 批复, 议案, 函, 纪要), legislation (法律, 行政法规,
地方性法规, 部门规章, 司法解释, and 条例 / 规定 / 办法 / 细则 where the text is one but
its rank cannot be told), citizen messages (留言) and official replies (答复), news (新闻),
government work reports (工作报告), plans (规划计划) and meetings (会议).

Best evidence first: the record's or the header's own kind (``文种``, ``公文种类``); a reply's
or a message's opening; the title's last words (``…的通知``, ``…条例``); a law's form (a
title of the nation's or a place's, articles 第一条 …); the text's closing formula (特此通告,
此复); else news.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

NEWS = "新闻"
#: The statutory kinds of official documents, by the words a title ends with.
OFFICIAL = ("决议", "决定", "命令", "公报", "公告", "通告", "意见", "通知", "通报", "报告", "请示", "批复",
            "议案", "函", "纪要")
LEGISLATION = ("法律", "行政法规", "地方性法规", "部门规章", "司法解释", "条例", "规定", "办法", "细则")
OTHER = ("留言", "答复", "工作报告", "规划计划", "会议", NEWS)
#: Every kind a document can get.
KINDS = OFFICIAL + LEGISLATION + OTHER
#: The record fields and header keys that name a kind.
KIND_KEYS = ("文种", "公文种类", "doc_type", "kind")

# A title's last words, once marks such as （已废止）, （2019年修订） or （试行） are cut.
_TITLE_TAIL = re.compile(r"(?:\s*[（(【\[][^（）()【】\[\]]{0,20}[）)】\]])+\s*$")
# The title's kind by its ending, most specific first.
_ENDINGS = (
    (("会议纪要", "纪要"), "纪要"), (("工作报告", "工作总结"), "工作报告"), (("决议",), "决议"), (("公报",), "公报"),
    (("议案",), "议案"), (("请示",), "请示"), (("批复",), "批复"), (("复函", "的函", "函"), "函"),
    (("通告",), "通告"), (("公告",), "公告"), (("通报",), "通报"), (("通知",), "通知"), (("意见",), "意见"),
    (("决定",), "决定"), (("命令",), "命令"), (("报告",), "报告"),
    (("答复", "回复", "答复意见", "办理结果"), "答复"),
)
#: Kinds a title names only as ``关于…的决定`` (a news title may end with 作出决定, 通过决议).
_FORMAL = {"决定", "决议", "意见", "报告", "请示", "批复", "函", "命令", "议案"}
#: Title endings no citizen's message has: a law's or a rule's.
_NOT_MESSAGES = ("修正案", "守则", "标准", "条例", "规定", "办法", "细则", "规则", "解释")
_LAW_ENDINGS = ("条例", "规定", "办法", "细则", "规则", "实施办法", "实施细则")
_ARTICLES = re.compile(r"第[一二三四五六七八九十百零〇]{1,7}条")
_NATIONAL_LAW = re.compile(r"^(?:中华人民共和国)?\S{1,30}法$")
_AMENDMENT = re.compile(r"修正案[（(][一二三四五六七八九十]+[）)]$")
#: A national rule whose closing names a State Council department as its interpreter: a regulation.
_STATE_COUNCIL_ORGAN = re.compile(r"由国务院[^。]{0,20}负责解释|国务院[^。]{0,10}(?:发布|批准)")
_JUDICIAL = re.compile(r"^最高人民(?:法院|检察院)")
_MINISTERIAL = re.compile(r"(?:部|委员会|总局|总署|银行|署)令|部务会议|委务会议|局务会议")
_STATE_COUNCIL = re.compile(r"国务院令|国务院(?:常务会议|第\S{1,4}次常务会议)|国务院公布")
_LOCAL_CONGRESS = re.compile(r"(?:省|市|自治区|自治州|县)人民代表大会常务委员会|人民代表大会常务委员会第")
_PLACE_PREFIX = re.compile(r"^(?:\S{1,8}?(?:省|自治区|市|自治州|州|县|区|盟))(?!政府|人民政府办公)")
#: How a reply opens, tried at the start of the text alone (ways that each began with ``^``
#: were tried at every character, each failing there): by its addressee or thanks...
_REPLY_START = re.compile(
    r"\s*(?:亲爱的|尊敬的)?(?:网友|网民|市民|群众|同志|来信(?:同志|人|网友|者)?|“?UU\d+”?)[^。！!\n]{0,24}?"
    r"(?:您好|你好|[：:]\s*(?:您|你)(?:反映|的|所|好))"
    r"|\s*(?:来信(?:同志|人|网友|者)?|网友|网民|“[^”\n]{1,24}”|UU\d+)\s*(?:网友)?\s*[：:]"
    r"|\s*(?:首先[，,]\s*)?(?:非常|十分)?感谢您")
#: ...or by what its first line says, a few words in; each of these ways needs one of
#: ``_REPLY_LEAD_WORDS`` (most texts hold none, and spare the expression's lazy scans)...
_REPLY_LEAD = re.compile(
    r".{0,40}?(?:回复|答复)[：:]|.{0,60}?收到(?:您|网友|市民)|.{0,60}?(?:您|网友|市民|群众)(?:所)?(?:反映|举报|投诉)的?"
    r"[^。]{0,60}?(?:经(?:调查|核实|查|现场)|高度重视|已转)"
    r"|.{0,40}?(?:您好|你好)[!！,，。：:\s]*.{0,30}?(?:您|你)(?:的|反映|所|提|咨询|关于|在)"
    r"|.{0,60}?(?:来信|留言|来电|诉求|信件|帖文|帖子)(?:已)?(?:收悉|获悉)|.{0,80}?(?:现|特)?(?:将|就)?.{0,30}?(?:回复|答复)如下")
_REPLY_LEAD_WORDS = ("回复", "答复", "收到", "反映", "举报", "投诉", "您好", "你好", "收悉", "获悉")
#: ...and the words that mark a reply wherever they stand.
_REPLY_WORDS = ("对此留言的回复", "交办件已收悉")
_MESSAGE_OPENING = re.compile(r"^\s*(?:尊敬的|敬爱的|亲爱的)\S{0,12}(?:领导|书记|市长|县长|区长|局长|镇长|主任|同志|部门|政府)"
                              r"|^\s*(?:各位)?领导(?:您好|你好|好)|^\s*\S{1,3}(?:书记|市长|县长|区长|局长|镇长)[：:，,]?\s*(?:您好|你好)")
#: A title that asks, complains or proposes, as citizens' messages do.
_ASKS = re.compile(r"投诉|举报|咨询|反映|求助|请求|恳请|呼吁|建议|希望|请(?:问|政府|领导|相关|有关|解决|尽快|帮|求|给|让|清理)"
                   r"|什么时候|何时|能否|可否|为什么|为何|怎么(?:办|回事|还|就|又|会|能|没)|有没有|不解|不合理|不公|扰民|"
                   r"乱(?:停|收|建|搭|象|扔)|违章|违建|拒不|漏水")
_QUESTION = re.compile(r"[?？]|请问|能否|可否|为何|为什么|何时|怎么|如何|是否|希望|恳请|请求|呼吁|投诉|举报|反映|咨询|建议")
#: What a citizen writes to an official near the end of a message.
_PLEA = re.compile(r"谢谢|感谢|此致|敬礼|望(?:领导|政府|有关|相关)|请(?:领导|政府|有关|相关)|恳请|希望(?:领导|政府|有关|相关|能|尽快)")
#: A writer who speaks for themselves near the start (我是…的业主, 本人…).
_SPEAKS_FOR_SELF = re.compile(r"我是|本人|我们是|我叫|我家|我们小区|我们村|我们学校|我们单位|我们这|我想|我要")
#: What a complaint's title says of its subject.
_COMPLAINS = re.compile(r"不(?:亮|便|透明|及时|作为|到位|规范|达标|合格|安全)|坑|垄断|强制|强占|擅自|无证|涉嫌|隐患|"
                        r"噪音|堵|拖欠|欠薪|质疑|忽悠|扰民|问题|严重|难|差")
#: Words of a citizen writing to officials, and of officials or reporters writing about them:
#: a text without a title cue is a message when the first outnumber the second by this much.
_CITIZEN_VOICE = re.compile(r"我们?|本人|业主|希望|恳请|请求|呼吁|投诉|举报|反映|[?？]|严重|影响|至今|迟迟|无人|"
                            r"没有|不能|不让|无法|扰民|怎么|为什么|到底|谢谢|麻烦|请问")
_OFFICIAL_VOICE = re.compile(r"开展|召开|积极|推进|部署|会议|强调|指出|据悉|记者|日电|表示|获悉|近日|进一步|扎实|全力|"
                             r"切实|组织|举行|启动|发布|印发|出台|有力|有序|坚决|工作|各级|我区|我镇|我市|我县|我局|本市|"
                             r"经调查|经核实|经查|核实|高度重视|责令|依法|网友|来信人|信访人|回复|答复|权威|解答|上线")
CITIZEN_VOICE_MARGIN = 2
_FIRST_PERSON = re.compile(r"我们|本人|我家|我是|我于|我在|我的|我们的|我小区|我村")
_NEWS_LEAD = re.compile(r"^.{0,40}?(?:新华社|央视网|本报讯|记者|日电|消息[（(]|讯[（(]|通讯员)")
#: A government reporting its year to the people or to a congress (向大厂人民汇报, 述职).
_REPORTS_TO = re.compile(r"^向\S{1,12}汇报|工作汇报|述职")
_PLAN = re.compile(r"规划|(?:工作|行动|发展|实施|年度)计划|计划$|工作要点|实施方案|行动方案|工作思路|三年行动|工作安排")
#: A meeting held (召开, 举行) or a meeting's own page (…会议, …座谈会).
_MEETING = re.compile(r"(?:会议|大会|座谈会|务虚会|推进会|专题会|常务会|联席会|全体会|常委会|发布会)"
                      r"(?:[^，。]{0,12}(?:举行|召开|开幕|闭幕)|$)|(?:召开|举行)[^，。]{0,20}(?:会议|大会|座谈会|推进会)")
#: An order's title: a government's, the State Council's, a ministry's or the President's 令, with its number.
_ORDER = re.compile(r"(?:政府|国务院|部|委员会|总局|主席)令(?:\s*[（(]?\s*第\s*\S{1,8}\s*号\s*[）)]?)?$")
#: A whole title in the text's opening: ``关于…的通知``, ``…指挥部公告（第6号）``.
_OPENING_TITLE = re.compile(r"关于[^。；！？\n]{2,80}?的(?:通知|公告|通告|意见|决定|批复|通报|报告|请示|函)"
                            r"|[^。；！？\s]{2,40}(?:公告|通告)(?=\s*[（(]第)")
OPENING_TITLE_CHARS = 200
#: A title this short that the text opens with may be the first words of the real one.
CUT_TITLE_CHARS = 16
_CLOSINGS = (("特此通告", "通告"), ("特此公告", "公告"), ("特此通报", "通报"), ("此复", "批复"), ("特此函告", "函"),
             ("特此函复", "函"), ("特此通知", "通知"), ("特此报告", "报告"), ("妥否，请批示", "请示"),
             ("当否，请批示", "请示"), ("妥否，请示", "请示"))
_ADDRESSEE = re.compile(r"^\s*[^\n。]{2,80}?(?:人民政府|各委、办、局|各部门|各单位|各有关单位|委员会|居委会|村委会|各街道|各乡镇)[^\n。]{0,40}[：:]")


def declared_kind(record: Mapping[str, Any], header: Mapping[str, str]) -> str | None:
    """The kind the record or its header names (文种: 通知), when it is one of :data:`KINDS`."""
    for source in (record, header):
        for key in KIND_KEYS:
            value = source.get(key)
            if isinstance(value, str):
                value = value.strip()
                if value in KINDS:
                    return value
                found = [k for k in KINDS if k in value]
                if found:
                    return max(found, key=len)
    return None


def _title_core(title: str) -> str:
    return _TITLE_TAIL.sub("", title.strip()).rstrip("。.!！ ")


def _legislation(core: str, body: str, national: bool) -> str | None:
    """The rank of a law, regulation or rule whose text is one (articles), from its title and opening."""
    opening = body[:600]
    if _JUDICIAL.match(core) or "法释〔" in opening or "高检发释字" in opening:
        return "司法解释"
    if core.endswith("修正案") or _AMENDMENT.search(core):
        return "法律"
    ending = next((e for e in _LAW_ENDINGS if core.endswith(e)), None)
    if ending is None:
        if _NATIONAL_LAW.match(core) and not _PLACE_PREFIX.match(core.removeprefix("中华人民共和国")):
            return "法律"
        return None
    if _LOCAL_CONGRESS.search(opening) and "全国人民代表大会" not in opening:
        return "地方性法规"
    if _STATE_COUNCIL.search(opening):
        return "行政法规"
    if _MINISTERIAL.search(opening):
        return "部门规章"
    if not national:
        return "地方性法规" if ending == "条例" else ending.removeprefix("实施")
    if ending == "条例" or _STATE_COUNCIL_ORGAN.search(body[-400:]):
        return "行政法规"
    return ending.removeprefix("实施")


def _by_ending(core: str) -> str | None:
    """The statutory kind a title's last words name (决定, 意见 … only as ``关于…的决定``)."""
    for endings, kind in _ENDINGS:
        if core.endswith(endings) and (kind not in _FORMAL or "关于" in core or core.endswith(tuple("的" + e for e in endings))):
            return kind
    return None


def _is_message(core: str, body: str) -> bool:
    """A citizen's message: a title that asks or complains, a body in the first person or
    pleading, and nothing of news (a dateline, a reporter) or of an official text."""
    opening = body[:200]
    if _NEWS_LEAD.search(opening) or _ARTICLES.search(body[:600]) or any(w in body[-300:] for w, _ in _CLOSINGS):
        return False
    if any(core.endswith(e) for endings, _ in _ENDINGS for e in endings) or core.endswith(_NOT_MESSAGES):
        return False
    if _ASKS.search(core) or _SPEAKS_FOR_SELF.search(opening[:100]):
        return True
    if _COMPLAINS.search(core) and (_FIRST_PERSON.search(opening) or _PLEA.search(body[-120:])):
        return True
    if _QUESTION.search(core) and (_FIRST_PERSON.search(opening) or _PLEA.search(body[-120:])):
        return True
    # No cue in the title: a short text that complains and asks in a citizen's voice
    # rather than reports in an official's.
    text = body[:1500]
    voice = len(_CITIZEN_VOICE.findall(text)) - len(_OFFICIAL_VOICE.findall(text))
    return voice >= CITIZEN_VOICE_MARGIN


def _opens_reply(text: str) -> bool:
    """Whether ``text`` opens as a reply to a citizen's message does."""
    return (_REPLY_START.match(text) is not None or any(words in text for words in _REPLY_WORDS)
            or (any(words in text for words in _REPLY_LEAD_WORDS) and _REPLY_LEAD.match(text) is not None))


def document_kind(title: str, body: str, record: Mapping[str, Any] | None = None,
                  header: Mapping[str, str] | None = None) -> str:
    """The document's kind, one of :data:`KINDS` (see the module docstring)."""
    declared = declared_kind(record or {}, header or {})
    if declared:
        return declared
    opening = body[:200]
    if _MESSAGE_OPENING.search(opening):
        return "留言"
    if _opens_reply(title) or _opens_reply(opening[:120]):
        return "答复"
    core = _title_core(title)
    if _is_message(core, body):
        return "留言"
    if _ARTICLES.search(body[:3000]):
        national = not _PLACE_PREFIX.match(core)
        law = _legislation(core, body, national)
        if law:
            return law
    if _ORDER.search(core) and "签署" not in core and not _NEWS_LEAD.search(opening):
        return "命令"  # 上海市人民政府令（第12号）, 国务院令 第777号: the order that publishes a rule
    kind = _by_ending(core)
    if kind is None and len(core) <= CUT_TITLE_CHARS and body.lstrip().startswith(core):
        # A crawler's title cut at the first name (财政部, 某市人民政府): the text opens
        # with it, and goes on with the whole title.
        whole = _OPENING_TITLE.search(body[:OPENING_TITLE_CHARS])
        kind = _by_ending(whole.group(0)) if whole else None
    if kind is not None:
        return kind
    if _REPORTS_TO.search(core):
        return "工作报告"
    tail = body[-300:]
    for words, kind in _CLOSINGS:
        if words in tail:
            return kind
    if _ADDRESSEE.match(body) and not _NEWS_LEAD.search(opening):
        return "通知"
    if _MEETING.search(core):
        return "会议"
    if _PLAN.search(core) and not _NEWS_LEAD.search(opening):
        return "规划计划"
    return NEWS
