"""The message catalogue: every sentence the renderers show, in Chinese and English, in one place."""

from __future__ import annotations

LANGS = ("zh", "en")

CATALOGUE: dict[str, dict[str, str]] = {
    # outcomes
    "outcome.eligible": {"zh": "符合", "en": "eligible"},
    "outcome.ineligible": {"zh": "不符合", "en": "ineligible"},
    "outcome.undetermined": {"zh": "待定", "en": "undetermined"},
    "outcome.referred": {"zh": "按他文件执行", "en": "referred"},
    "outcome.not_applicable": {"zh": "不适用", "en": "not applicable"},
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
}


def t(key: str, lang: str = "zh", **values) -> str:
    """The message `key` in `lang`, with `{name}` slots filled."""
    entry = CATALOGUE[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text
