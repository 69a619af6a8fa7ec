// The form's behaviour: show the facts the chosen recipient kind needs, send what is filled in to the service,
// show the calculation sheet (or the problems, at their fields), and save the facts as a YAML facts file.
// No library and nothing from the network: the page must work offline.
(function () {
  "use strict";
  const m = JSON.parse(document.getElementById("model").textContent);
  const base = "/policies/" + encodeURIComponent(m.id);
  const lang = "?lang=" + encodeURIComponent(m.lang);
  const $ = (id) => document.getElementById(id);
  const status = $("status"), sheet = $("sheet"), problems = $("problems");
  const facts = {};
  m.facts.forEach((f) => { facts[f.name] = f; });

  function showKind() {
    const kind = $("recipient").value;
    const wanted = new Set(kind ? m.kinds[kind] : []);
    document.querySelectorAll(".fact").forEach((el) => { el.hidden = !wanted.has(el.dataset.name); });
    $("facts").hidden = !kind;
    $("granted").hidden = !kind;
    document.querySelectorAll(".grant").forEach((el) => {
      const clause = m.capped.find((c) => c.id === el.dataset.clause);
      el.hidden = !(kind && clause.recipients.includes(kind));
    });
  }

  // A date as the case worker types it (2024-12-20, 2024/12/20, 2024.12.20, 2024年12月20日) in the form the engine
  // reads (YYYY-MM-DD); anything else is kept as typed and reported at its field before anything is sent.
  function isoDate(raw) {
    const found = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/.exec(raw);
    if (!found) return null;
    return found[1] + "-" + found[2].padStart(2, "0") + "-" + found[3].padStart(2, "0");
  }
  const badDates = [];

  function read(input, kind) {  // kind: the fact kind's input (yes_no, whole, date, text; engine.model.kinds)
    const raw = input.value.trim();
    if (raw === "") return null;
    if (input.classList.contains("date")) {
      const day = isoDate(raw);
      if (day === null) badDates.push({input: input, message: m.bad_date.replace("{value}", raw)});
      return day === null ? raw : day;
    }
    if (kind === "yes_no") return raw === "true";
    if (kind === "whole" && /^-?\d+$/.test(raw)) return Number(raw);
    return raw;  // amounts, percentages and numbers as written (50万元, 60%): the engine reads them exactly
  }

  function addRow(name, values) {
    const f = facts[name];
    const body = document.querySelector('.fact[data-name="' + name + '"] tbody');
    const tr = document.createElement("tr");
    f.items.forEach((item) => {
      const td = document.createElement("td");
      let input;
      if (item.input === "yes_no" || item.choices.length) {
        input = document.createElement("select");
        const options = item.input === "yes_no" ? [["", m.unknown], ["true", m.yes], ["false", m.no]]
          : [["", m.unknown]].concat(item.choices.map((c) => [c, c]));
        options.forEach(([value, label]) => { const o = new Option(label, value); input.add(o); });
      } else {
        input = document.createElement("input");
        input.type = "text";
        if (item.input === "date") { input.className = "date"; input.inputMode = "numeric"; }
        input.placeholder = item.example || "";
        input.dataset.label = item.label;
      }
      input.dataset.item = item.name;
      input.dataset.input = item.input;
      if (values && values[item.name] != null) input.value = String(values[item.name]);
      td.appendChild(input);
      tr.appendChild(td);
    });
    const td = document.createElement("td");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = m.remove;
    remove.addEventListener("click", () => { tr.remove(); changed(); });
    td.appendChild(remove);
    tr.appendChild(td);
    body.appendChild(tr);
  }

  function collect() {
    const data = {};
    const applicant = $("applicant").value.trim();
    if (applicant) data.applicant = applicant;
    data.recipient = $("recipient").value || null;
    if ($("area")) data.area = $("area").value || null;
    data.date = read($("date"), "date");
    data.facts = {};
    document.querySelectorAll(".fact").forEach((el) => {
      if (el.hidden) return;
      const f = facts[el.dataset.name];
      if (f.input === "items") {
        const rows = Array.from(el.querySelectorAll("tbody tr")).map((tr) => {
          const item = {};
          tr.querySelectorAll("[data-item]").forEach((input) => { item[input.dataset.item] = read(input, input.dataset.input); });
          return item;
        });
        if (rows.length) data.facts[f.name] = rows;
        return;
      }
      const value = read(el.querySelector("[name]"), f.input);
      if (value !== null) data.facts[f.name] = value;
    });
    if (!m.ledger && $("granted-known").checked) {  // otherwise unknown: capped and one-time clauses stay undetermined
      data.granted = {};
      document.querySelectorAll(".grant").forEach((el) => {
        const input = el.querySelector("input");
        if (!el.hidden && input.value.trim()) data.granted[input.dataset.clause] = input.value.trim();
      });
    }
    return data;
  }

  // A problem in the case worker's words: the field's label for the names the engine uses ('platform_fees',
  // granted['2.2']), said at the field and in the list above the sheet, without the JSON path.
  function worded(p, field) {
    let text = p.message;
    const name = (p.path || "").replace(/^\$\.facts\./, "").replace(/^\$\./, "");
    const label = field ? field.dataset.label : null;
    if (label) {
      const quoted = "'" + name + "'";
      text = text.split(quoted + "（" + label + "）").join("“" + label + "”").split(quoted).join("“" + label + "”");
      text = text.replace(/^granted\[[^\]]*\]/, "“" + label + "”");
    }
    return text;
  }

  function showProblems(list) {
    problems.textContent = "";
    document.querySelectorAll(".bad").forEach((el) => el.classList.remove("bad"));
    document.querySelectorAll(".field-error").forEach((el) => el.remove());
    list.forEach((p) => {
      const field = p.input || (p.path ? document.querySelector('[data-path="' + p.path + '"]') : null);
      const text = p.input ? p.message : worded(p, field);
      const li = document.createElement("li");
      li.textContent = text;
      if (p.suggestion && !/[a-z]+_[a-z_]+/.test(p.suggestion)) {  // a suggestion naming a fact's key is for files
        const s = document.createElement("small"); s.textContent = p.suggestion; li.appendChild(s);
      }
      problems.appendChild(li);
      if (field) {
        field.classList.add("bad");
        const at = document.createElement("small");
        at.className = "field-error";
        at.textContent = text;
        const row = field.closest(".row") || field.closest(".fact") || field.parentElement;
        row.insertAdjacentElement("afterend", at);
      }
    });
    problems.hidden = !list.length;
  }

  function code() { return m.ledger ? $("credit_code").value.trim() : ""; }

  async function post(what, query) {
    const who = code() ? "&credit_code=" + encodeURIComponent(code()) : "";
    return fetch(base + "/" + what + lang + (query || "") + who, {  // evaluate looks grants up by it; facts-file saves it
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(collect()),
    });
  }

  let timer = null, asked = 0;
  async function update() {
    if (!$("recipient").value) {
      status.dataset.state = "empty"; status.textContent = m.empty; sheet.textContent = ""; $("print").disabled = true;
      return;
    }
    const mine = ++asked;  // a sheet asked for earlier is not shown over what follows
    badDates.length = 0;
    collect();
    if (badDates.length) {  // said at the field; nothing is sent until the date reads as one
      showProblems(badDates.slice());
      status.dataset.state = "problems"; status.textContent = m.problems; return;
    }
    status.dataset.state = "pending";
    status.textContent = m.pending;
    let response;
    try { response = await post("evaluate", "&format=html"); } catch (e) {
      status.dataset.state = "offline"; status.textContent = m.offline; return;
    }
    if (mine !== asked) return;  // a later change is on its way
    if (response.ok) {
      showProblems([]);
      // The sheet's own page (engine/present/templates/sheet.html.j2): its <article> is shown as it is.
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      sheet.replaceChildren(document.importNode(page.querySelector("article.sheet"), true));
      $("print").disabled = false;
      status.dataset.state = "ok";
      status.textContent = m.updated;
    } else {
      const body = await response.json();
      showProblems(body.problems || []);
      status.dataset.state = "problems";
      status.textContent = m.problems;
    }
  }

  function changed() { clearTimeout(timer); timer = setTimeout(update, 200); }

  // With a ledger: the applicant's earlier grants, as the ledger holds them, shown when its credit code is typed.
  async function showGrants() {
    const body = document.querySelector("#ledger-grants tbody");
    body.textContent = "";
    const row = (cells) => {
      const tr = document.createElement("tr");
      cells.forEach((text) => { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
      body.appendChild(tr);
    };
    if (code().length !== 18) return;
    let response;
    try { response = await fetch(base + "/grants" + lang + "&credit_code=" + encodeURIComponent(code())); } catch (e) { return; }
    if (!response.ok) { showProblems((await response.json()).problems || []); return; }
    const found = (await response.json()).grants;
    if (!found.length) { row([m.ledger_none, "", "", "", ""]); return; }
    found.forEach((g) => row([g.clause, g.year == null ? "" : String(g.year), g.for || "", g.amount, g.round || ""]));
  }

  $("recipient").addEventListener("change", showKind);
  $("print").addEventListener("click", () => window.print());
  if (m.ledger) {
    $("credit_code").addEventListener("change", showGrants);
    $("credit_code").addEventListener("input", () => { if (code().length === 18) showGrants(); });
  } else {
    $("granted-known").addEventListener("change", () => {
      document.querySelectorAll(".grant input").forEach((input) => { input.disabled = !$("granted-known").checked; });
    });
  }
  document.querySelectorAll(".add").forEach((b) => b.addEventListener("click", () => { addRow(b.dataset.list); changed(); }));
  $("facts-form").addEventListener("input", changed);
  $("facts-form").addEventListener("change", changed);
  $("save").addEventListener("click", async () => {
    const response = await post("facts-file");
    if (!response.ok) {
      showProblems((await response.json()).problems || []);
      status.dataset.state = "problems"; status.textContent = m.problems; return;
    }
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url; a.download = m.id + ".facts.yaml";
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  showKind();
})();
