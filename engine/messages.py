"""The message catalogue: every sentence the engine shows, in Chinese and English, in one place."""

from __future__ import annotations

from typing import Mapping

LANGS = ("zh", "en")

CATALOGUE: dict[str, dict[str, str]] = {
    # outcomes
    "outcome.eligible": {"zh": "符合", "en": "eligible"},
    "outcome.ineligible": {"zh": "不符合", "en": "ineligible"},
    "outcome.undetermined": {"zh": "待定", "en": "undetermined"},
    "outcome.referred": {"zh": "按他文件执行", "en": "referred"},
    "outcome.not_applicable": {"zh": "不适用", "en": "not applicable"},
    "colon": {"zh": "：", "en": ": "},
    # header
    "head.applicant": {"zh": "申请人", "en": "Applicant"},
    "head.kind": {"zh": "类别", "en": "Kind"},
    "head.area": {"zh": "区域", "en": "Area"},
    "head.area_missing": {"zh": "（未填写）", "en": "(not given)"},
    "head.date": {"zh": "申报日期", "en": "Claim date"},
    "head.period_assumed": {"zh": "注意：本文件有效期（{start} 至 {end}）并非原文所载，系假定（见解读 {reading}）",
                            "en": "Note: the period in force ({start} to {end}) is not in the source text; it is "
                                  "assumed (see reading {reading})"},
    "date.option": {"zh": "由 --on 指定", "en": "from --on"},
    "date.facts": {"zh": "取自事实文件", "en": "from the facts file"},
    "date.today": {"zh": "未指定，按今天计", "en": "none given: today"},
    # sections
    "sec.conditions": {"zh": "条件", "en": "Conditions"},
    "sec.calculation": {"zh": "计算", "en": "Calculation"},
    "sec.missing": {"zh": "需补充", "en": "Missing facts"},
    "sec.not_applicable": {"zh": "不适用条款", "en": "Clauses not applicable"},
    "sec.total": {"zh": "合计", "en": "Total"},
    "total.complete": {"zh": "合计：{amount}", "en": "Total: {amount}"},
    "total.partial": {"zh": "已确定部分合计：{amount}（不完整：{count} 项待定：{ids}）",
                      "en": "Total of what is determined: {amount} (incomplete: {count} undetermined: {ids})"},
    "total.referred": {"zh": "另按他文件执行：{items}", "en": "Also referred: {items}"},
    "total.needs": {"zh": "补充以下事实后可确定：{items}", "en": "Supply these facts to decide them: {items}"},
    # condition status
    "cond.met": {"zh": "✓", "en": "✓"},
    "cond.failed": {"zh": "✗", "en": "✗"},
    "cond.unknown": {"zh": "?", "en": "?"},
    "cond.missing": {"zh": "缺少：{names}", "en": "missing: {names}"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "unknown_value": {"zh": "（未提供）", "en": "(not given)"},
    # steps
    "step.base": {"zh": "基数 {label}：{expr} = {detail}{value}", "en": "Base {label}: {expr} = {detail}{value}"},
    "step.rate": {"zh": "比例：{value}", "en": "Rate: {value}"},
    "step.product": {"zh": "基数 × 比例 = {base} × {rate} = {value}", "en": "Base × rate = {base} × {rate} = {value}"},
    "step.fixed": {"zh": "定额：{value}", "en": "Fixed amount: {value}"},
    "step.per_unit": {"zh": "{rate}{unit} × {quantity} × {periods} 期 = {value}",
                      "en": "{rate} {unit} × {quantity} × {periods} periods = {value}"},
    "step.per_unit.bounded": {"zh": "可补助期数：本次 {periods}，上限 {max_periods}，已补 {used}，计 {paid}",
                              "en": "Periods paid: claimed {periods}, at most {max_periods}, already paid {used}, "
                                    "so {paid}"},
    "step.items": {"zh": "{label}：{count} 个符合 × {each} = {value}", "en": "{label}: {count} qualifying × {each} = {value}"},
    "step.item": {"zh": "  · 第{n}项 {name}：{status}", "en": "  · item {n} {name}: {status}"},
    "item.counted": {"zh": "计入", "en": "counted"},
    "item.not counted": {"zh": "不计入", "en": "not counted"},
    "item.unknown": {"zh": "待定", "en": "undetermined"},
    "step.bonus": {"zh": "在第 {to} 项之上增加：{value}", "en": "Added on top of clause {to}: {value}"},
    "step.raised_cap": {"zh": "第 {to} 项上限提高 {bonus}：{to} 未封顶金额 {uncapped}，已付 {paid}，本项增付 {value}",
                        "en": "Clause {to}'s cap raised by {bonus}: uncapped {uncapped}, paid {paid}, so this pays {value}"},
    "step.round": {"zh": "按 {rule} 取整到 {step}：{before} → {after}", "en": "Rounded {rule} to {step}: {before} → {after}"},
    "rounding.half_up": {"zh": "四舍五入", "en": "half up"},
    "rounding.half_even": {"zh": "四舍六入五成双", "en": "half even"},
    "step.cap": {"zh": "上限 {cap}（{period}）；已获 {granted}，尚余 {remaining}",
                 "en": "Cap {cap} ({period}); already granted {granted}, remaining {remaining}"},
    "step.cap.bit": {"zh": "封顶：{before} → {after}（超出 {excess}）", "en": "Capped: {before} → {after} ({excess} over)"},
    "step.cap.free": {"zh": "未触及上限", "en": "Cap not reached"},
    "period.once": {"zh": "一次性", "en": "once ever"},
    "period.year": {"zh": "每年", "en": "per year"},
    "period.claim": {"zh": "每次申报", "en": "per claim"},
    "step.group": {"zh": "与第 {winner} 项不叠加（{pick}，见 {reading}）：本项可得 {would_be}，第 {winner} 项 {winner_amount}",
                   "en": "Does not stack with clause {winner} ({pick}, see {reading}): this would pay {would_be}, "
                         "clause {winner} pays {winner_amount}"},
    "pick.best": {"zh": "就高享受", "en": "the better one pays"},
    "pick.first": {"zh": "先列者优先", "en": "the first listed pays"},
    "pick.all": {"zh": "可叠加", "en": "they stack"},
    # reasons
    "reason.measure": {"zh": "政府举措，无申报对象：{measure}", "en": "a government measure with no applicant benefit: {measure}"},
    "reason.policy_period": {"zh": "申报日期 {date} 不在本文件有效期（{start} 至 {end}）内",
                             "en": "the claim date {date} is outside the period in force ({start} to {end})"},
    "reason.clause_period": {"zh": "申报日期 {date} 不在本条款适用期间（{start} 至 {end}）内",
                             "en": "the claim date {date} is outside this clause's period ({start} to {end})"},
    "reason.recipient": {"zh": "适用对象为 {recipients}", "en": "for {recipients} only"},
    "reason.jurisdiction": {"zh": "申请人所在区域“{area}”不在适用范围（{areas}）内",
                            "en": "the applicant's area '{area}' is outside the jurisdiction ({areas})"},
    "reason.jurisdiction.closest": {"zh": "是否应为“{closest}”？", "en": "did you mean '{closest}'?"},
    "reason.conditions": {"zh": "条件未满足", "en": "conditions not met"},
    "reason.requires": {"zh": "须先符合第 {ids} 项", "en": "requires clause {ids} to be eligible"},
    "reason.once_granted": {"zh": "一次性奖励，已获 {granted}", "en": "a one-time award already granted ({granted})"},
    "reason.cap_used": {"zh": "上限 {cap} 已用完（已获 {granted}）", "en": "the cap of {cap} is used up ({granted} already granted)"},
    "reason.group": {"zh": "与第 {winner} 项不叠加，按第 {winner} 项享受（{pick}）",
                     "en": "does not stack with clause {winner}, which pays instead ({pick})"},
    "reason.group_pending": {"zh": "与第 {pending} 项不叠加，哪一项享受取决于第 {pending} 项（本项可得 {would_be}）",
                             "en": "does not stack with clause {pending}; which pays depends on it (this would pay {would_be})"},
    "reason.missing": {"zh": "缺少事实", "en": "facts missing"},
    "reason.referred": {"zh": "补助标准按《{title}》（{document}）执行", "en": "the amount is set by {document} ({title})"},
    "reason.followed": {"zh": "按《{title}》（{document}）第 {clause} 项执行：{outcome}",
                        "en": "as set out in {document} ({title}), clause {clause}: {outcome}"},
    "hop.head": {"zh": "按《{title}》（{document}）第 {clause} 项计算", "en": "Under {document} ({title}), clause {clause}"},
    "missing.area": {"zh": "申请人所在区域 (area)", "en": "the applicant's area (area)"},
    "missing.granted": {"zh": "第 {clause} 项此前已获补助金额 (granted)", "en": "amount already granted under clause {clause} (granted)"},
    "reading": {"zh": "解读", "en": "reading"},
    # review: the policy rendered for officers who check it without opening YAML (engine/review.py)
    "review.heading": {"zh": "政策规则审阅稿", "en": "Policy rules for review"},
    "review.intro": {"zh": "左栏为原文，右栏为编码后的规则；请逐条核对两者是否一致。",
                     "en": "Source text on the left, the encoded rule on the right: check that they agree."},
    "review.document": {"zh": "文号", "en": "Document number"},
    "review.title": {"zh": "标题", "en": "Title"},
    "review.issuer": {"zh": "发文机关", "en": "Issuer"},
    "review.signed": {"zh": "签发日期", "en": "Signed"},
    "review.in_force": {"zh": "有效期", "en": "In force"},
    "review.range": {"zh": "{start} 至 {end}", "en": "{start} to {end}"},
    "review.open_end": {"zh": "未规定终止日期", "en": "no end date"},
    "review.jurisdiction": {"zh": "适用范围", "en": "Jurisdiction"},
    "review.rounding": {"zh": "金额取整", "en": "Rounding"},
    "review.rounding_rule": {"zh": "{currency}，保留到 {step}，{rule}", "en": "{currency}, to {step}, rounded {rule}"},
    "review.policy_id": {"zh": "规则文件编号", "en": "Policy id"},
    "review.unset": {"zh": "（未填写）", "en": "(not given)"},
    "review.source": {"zh": "原文", "en": "Source text"},
    "review.rule": {"zh": "编码规则", "en": "Encoded rule"},
    "review.no_source": {"zh": "（未录入原文，请补充 text）", "en": "(no source text recorded: add text)"},
    "review.no_article": {"zh": "其他条款", "en": "Other clauses"},
    "review.clause": {"zh": "第 {id} 项", "en": "Clause {id}"},
    "review.who": {"zh": "适用对象", "en": "Who receives it"},
    "review.conditions": {"zh": "条件（须全部满足）", "en": "Conditions (all must hold)"},
    "review.no_conditions": {"zh": "无附加条件", "en": "no further conditions"},
    "review.amount": {"zh": "金额", "en": "Amount"},
    "review.base": {"zh": "基数构成", "en": "Base"},
    "review.fixed": {"zh": "定额 {amount}", "en": "a fixed {amount}"},
    "review.per_unit.max": {"zh": "累计最多 {max}", "en": "at most {max} in all"},
    "review.per_unit.used": {"zh": "扣除{used}", "en": "less {used}"},
    "review.per_item": {"zh": "每个符合条件的{item} {each}", "en": "{each} for each qualifying {item}"},
    "review.per_item.where": {"zh": "计入条件", "en": "An item counts when"},
    "review.bonus.on_top": {"zh": "在第 {to} 项金额之上增加 {amount}", "en": "{amount} on top of clause {to}"},
    "review.bonus.raises_cap": {"zh": "第 {to} 项上限提高 {amount}", "en": "clause {to}'s cap raised by {amount}"},
    "review.cap": {"zh": "上限", "en": "Cap"},
    "review.no_cap": {"zh": "未设上限", "en": "no cap"},
    "review.period": {"zh": "上限计算期间", "en": "Cap counted"},
    "review.measure": {"zh": "政府举措（无申报对象）", "en": "Government measure (no applicant)"},
    "review.requires": {"zh": "前提", "en": "Requires"},
    "review.applies": {"zh": "本项适用期间", "en": "This clause applies"},
    "review.readings": {"zh": "解读", "en": "Readings"},
    "review.stacking": {"zh": "叠加关系", "en": "Stacking"},
    "review.note": {"zh": "备注", "en": "Note"},
    "review.from": {"zh": "自 {date} 起 {value}", "en": "from {date}: {value}"},
    "review.and": {"zh": "且", "en": "and"},
    "review.or": {"zh": "或", "en": "or"},
    "review.not": {"zh": "非", "en": "not"},
    "review.in": {"zh": "属于", "en": "in"},
    "review.not_in": {"zh": "不属于", "en": "not in"},
    "review.if": {"zh": "若 {test} 则 {body}，否则 {orelse}", "en": "{body} if {test} else {orelse}"},
    "review.min": {"zh": "取较小值", "en": "the smaller of"},
    "review.max": {"zh": "取较大值", "en": "the larger of"},
    "review.abs": {"zh": "绝对值", "en": "the absolute value of"},
    "review.parameters": {"zh": "参数及其历史", "en": "Parameters and their history"},
    "review.parameters.intro": {"zh": "每个可修订的数值及其各时期取值；修订即新增一行。",
                                "en": "Every amendable number with its value in each period; an amendment adds a row."},
    "review.col.parameter": {"zh": "参数", "en": "Parameter"},
    "review.col.from": {"zh": "起", "en": "From"},
    "review.col.until": {"zh": "止", "en": "Until"},
    "review.col.value": {"zh": "取值", "en": "Value"},
    "review.col.source": {"zh": "依据", "en": "Source"},
    "review.col.used_by": {"zh": "使用条款", "en": "Used by"},
    "review.no_values": {"zh": "（无取值）", "en": "(no values)"},
    "review.readings_section": {"zh": "对原文开放问题的解读", "en": "Readings taken on open questions"},
    "review.question": {"zh": "问题", "en": "Question"},
    "review.choice": {"zh": "采用", "en": "Reading taken"},
    "review.alternatives": {"zh": "其他读法", "en": "Alternatives"},
    "review.used_by": {"zh": "涉及", "en": "Used by"},
    "review.unused": {"zh": "未被任何条款引用", "en": "not used by any clause"},
    "review.group_ref": {"zh": "分组 {id}", "en": "group {id}"},
    "review.groups_section": {"zh": "叠加与不叠加", "en": "Which clauses stack"},
    "review.with": {"zh": "与第 {others} 项：{pick}", "en": "with clause {others}: {pick}"},
    "review.references_section": {"zh": "引用文件", "en": "Referenced documents"},
    "review.role.rules": {"zh": "补助标准由该文件规定", "en": "sets amounts"},
    "review.role.basis": {"zh": "制定依据", "en": "legal basis"},
    "review.referred_by": {"zh": "引用条款", "en": "Referred to by"},
    "review.none": {"zh": "（无）", "en": "(none)"},
    "review.colon": {"zh": "：", "en": ": "},
    "review.list_sep": {"zh": "、", "en": ", "},
}


# -- problems: how every problem is laid out (engine/errors.py). The file:line:col prefix and the
# JSON path stay as they are in both languages, so editors and officers find the same spot.
CATALOGUE.update({
    "problem.line": {"zh": "{location}: {severity}：{message}", "en": "{location}: {severity}: {message}"},
    "problem.where": {"zh": "（{where}）", "en": " ({where})"},
    "problem.sep": {"zh": "，", "en": ", "},
    "problem.at": {"zh": "位置 {path}", "en": "at {path}"},
    "problem.clause": {"zh": "第 {clause} 项", "en": "clause {clause}"},
    "problem.inherited_by": {"zh": "由 {file} 沿用", "en": "inherited by {file}"},
    "problem.hint": {"zh": "提示：{hint}", "en": "hint: {hint}"},
    "severity.error": {"zh": "错误", "en": "error"},
    "severity.warning": {"zh": "警告", "en": "warning"},
    "severity.info": {"zh": "提示", "en": "info"},
})

def t(key: str, lang: str = "zh", **values) -> str:
    """The message `key` in `lang`, with `{name}` slots filled (Message values in the same language)."""
    entry = CATALOGUE[key]
    text = entry.get(lang) or entry["en"]
    if not values:
        return text
    return text.format(**{name: localize(value, lang) for name, value in values.items()})


class Message(str):
    """A catalogue message: its value is the English text, so it reads, compares and serialises like the
    plain string the engine always produced; `localized()` renders the same message in another language."""

    key: str
    values: Mapping[str, object]

    def __new__(cls, text: str, key: str = "", values: Mapping[str, object] | None = None) -> "Message":
        self = super().__new__(cls, text)
        self.key = key
        self.values = dict(values or {})
        return self

    def localized(self, lang: str | None) -> str:
        if lang is None or not self.key:
            return str(self)
        return t(self.key, lang, **self.values)


def msg(key: str, **values: object) -> Message:
    """The catalogue message `key` with its values: English as a string, any language via localize()."""
    return Message(t(key, "en", **values), key, values)


def localize(text: object, lang: str | None) -> object:
    """A Message in `lang` (None: English, as stored); anything else unchanged."""
    if isinstance(text, Message):
        return text.localized(lang)
    return text
