// Small progressive enhancements: tabs, copy buttons, confirmations,
// and moving between the form editor and the raw JSON editor without losing input.
(function () {
  "use strict";

  function selectTab(tabs, tab) {
    tabs.querySelectorAll('[role="tab"]').forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(t.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
  }

  function jsonFormData() {
    var hidden = document.querySelector("textarea[data-django-jsonform]");
    return hidden ? hidden.value : null;
  }

  function setupEditorTabs(tabs) {
    var editor = document.querySelector('input[name="editor"]');
    var raw = document.querySelector("textarea.raw-json");
    var current = editor ? editor.value || "form" : "form";
    var initial = tabs.querySelector('[data-editor="' + current + '"]') || tabs.querySelector('[role="tab"]');
    selectTab(tabs, initial);
    if (initial && editor) editor.value = initial.dataset.editor;
    tabs.querySelectorAll('[role="tab"]').forEach(function (tab) {
      tab.addEventListener("click", function () {
        var target = tab.dataset.editor;
        if (target === editor.value) return;
        if (target === "raw" && raw) {
          var data = jsonFormData();
          if (data) {
            try { raw.value = JSON.stringify(JSON.parse(data), null, 2); } catch (e) { raw.value = data; }
          }
        } else if (target === "form" && raw) {
          var parsed;
          try { parsed = JSON.parse(raw.value); } catch (e) {
            alert("The raw JSON is not valid, so the form cannot show it yet: " + e.message);
            return;
          }
          var hidden = document.querySelector("textarea[data-django-jsonform]");
          var form = hidden && window.reactJsonForm && reactJsonForm.getFormInstance(hidden.id + "_jsonform");
          if (form) { form.update({ data: parsed }); form.render(); }
        }
        editor.value = target;
        selectTab(tabs, tab);
      });
    });
  }

  function init() {
    document.querySelectorAll("[data-tabs]").forEach(function (tabs) {
      if (tabs.hasAttribute("data-editor-tabs")) return setupEditorTabs(tabs);
      tabs.querySelectorAll('[role="tab"]').forEach(function (tab) {
        tab.addEventListener("click", function () { selectTab(tabs, tab); });
      });
    });
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = document.querySelector(button.dataset.copy);
        field.select();
        if (navigator.clipboard) navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
      });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.dataset.confirm)) e.preventDefault();
      });
    });
    var summary = document.getElementById("error-summary") || document.getElementById("preview") ||
      document.querySelector("[data-focus-after-search]");
    if (summary) { summary.scrollIntoView({ block: "start" }); summary.focus(); }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

// django-jsonform draws labels that are not tied to their inputs, row buttons named only "×",
// "↑" and "↓", and leaves focus on "Add item" after adding. Tie each label and help text to its
// input, name each row button with its item ("Remove company globex"), and move focus into a
// new row; redo it whenever the form redraws (items added or removed).
(function () {
  "use strict";
  var IDENTIFYING = /§(id|key|name|slug|code|[a-z0-9_]*_id|[a-z0-9_]*_name)$/;

  function singular(title) {
    var word = (title || "item").trim().toLowerCase();
    if (/ies$/.test(word)) return word.slice(0, -3) + "y";
    if (/s$/.test(word) && !/ss$/.test(word)) return word.slice(0, -1);
    return word;
  }

  function groupTitle(group) {
    var title = group && group.querySelector(":scope > .rjf-form-group-title, :scope > .rjf-form-group-inner > .rjf-form-group-title");
    return title ? title.firstChild && title.firstChild.textContent.trim() : "";
  }

  function itemName(wrapper, index) {
    var inputs = wrapper.querySelectorAll("input[name], select[name]");
    for (var i = 0; i < inputs.length; i++) {
      if (IDENTIFYING.test(inputs[i].name) && inputs[i].value.trim()) return inputs[i].value.trim();
    }
    return "item " + (index + 1);
  }

  function setLabel(el, text) {
    if (el && el.getAttribute("aria-label") !== text) el.setAttribute("aria-label", text);
  }

  // The widget's button reads "Add item": its words become "Add company" too, so what is seen
  // and what a screen reader or voice control hears are the same (axe: label-content-name-
  // mismatch). The text node is changed in place: the widget (React) keeps its own reference to
  // it and never rewrites text that it did not change itself.
  function nameAddButton(button, text) {
    var node = button.firstChild;
    if (node && node.nodeType === 3) {
      if (node.nodeValue !== text) node.nodeValue = text;
    } else if (button.textContent !== text) {
      button.textContent = text;
    }
    if (button.title !== text) button.title = text;
    if (button.hasAttribute("aria-label")) button.removeAttribute("aria-label");
  }

  function nameRows(root) {
    root.querySelectorAll(".rjf-form-group-children").forEach(function (children) {
      var list = children.closest(".rjf-form-group");
      var kind = singular(groupTitle(list));
      var rows = Array.prototype.filter.call(children.children, function (c) {
        return c.classList.contains("rjf-form-group-wrapper") || c.classList.contains("rjf-form-row");
      });
      rows.forEach(function (row, index) {
        var controls = row.querySelector(":scope > .rjf-form-row-controls");
        if (!controls) return;
        var name = kind + " " + itemName(row, index);
        setLabel(controls.querySelector(".rjf-remove-button"), "Remove " + name);
        setLabel(controls.querySelector(".rjf-move-up-button"), "Move " + name + " up");
        setLabel(controls.querySelector(".rjf-move-down-button"), "Move " + name + " down");
      });
      var add = list && list.querySelector(":scope > .rjf-form-group-inner > .rjf-add-button, :scope > .rjf-add-button, :scope > .rjf-form-group-inner > div > .rjf-add-button");
      if (!add) add = children.parentElement && children.parentElement.querySelector(":scope > .rjf-add-button");
      if (add) nameAddButton(add, "Add " + kind);
    });
    root.querySelectorAll(".rjf-collapse-button").forEach(function (button) {
      var title = button.parentElement.firstChild ? button.parentElement.firstChild.textContent.trim() : "";
      var collapsed = button.textContent.indexOf("+") !== -1;
      setLabel(button, (collapsed ? "Expand " : "Collapse ") + title);
      button.setAttribute("aria-expanded", collapsed ? "false" : "true");
    });
  }

  // Every copy of the form on a page (the value's, and one per value an override serves) names
  // its inputs alike: each copy's ids start with its own prefix.
  function labelInputs(root, prefix) {
    root.querySelectorAll(".rjf-form-row-inner label").forEach(function (label) {
      var group = label.parentElement.querySelector(".rjf-input-group");
      var input = group && group.querySelector("input, select, textarea");
      if (!input) return;
      if (!input.id) input.id = (prefix || "f-") + (input.name || "").replace(/[^A-Za-z0-9_-]+/g, "-");
      if (label.htmlFor !== input.id) label.htmlFor = input.id;
      var described = [];
      group.querySelectorAll(".rjf-help-text, .rjf-error-text").forEach(function (help, n) {
        if (!help.id) help.id = input.id + "-note-" + n;
        described.push(help.id);
      });
      var value = described.join(" ");
      if (value && input.getAttribute("aria-describedby") !== value) input.setAttribute("aria-describedby", value);
      if (!value && input.hasAttribute("aria-describedby")) input.removeAttribute("aria-describedby");
    });
    nameRows(root);
  }

  // After "Add …", focus the first input of the new row (the widget leaves it on the button).
  function followAdds(container) {
    container.addEventListener("click", function (event) {
      var add = event.target.closest(".rjf-add-button");
      if (!add) return;
      var list = add.parentElement;
      var before = list.querySelectorAll("input, select, textarea").length;
      // The widget draws the new row when it gets round to it (sooner or later on a busy
      // machine): wait for the row's inputs to appear, for a second at most.
      var waited = 0;
      function focusNewRow() {
        var fields = list.querySelectorAll("input, select, textarea");
        if (fields.length <= before) {
          waited += 20;
          if (waited < 1000) setTimeout(focusNewRow, 20);
          return;
        }
        var children = list.querySelector(".rjf-form-group-children") || list;
        var rows = children.querySelectorAll(":scope > .rjf-form-group-wrapper, :scope > .rjf-form-row");
        var last = rows.length ? rows[rows.length - 1] : null;
        var target = last && last.querySelector(".rjf-form-group input, .rjf-form-group select, .rjf-form-row-inner input, .rjf-form-row-inner select, textarea");
        (target || fields[fields.length - 1]).focus();
      }
      setTimeout(focusNewRow, 0);
    });
  }

  // "Add …" for each list at the top of the form, so the keyboard need not pass every field
  // of every item to reach the widget's own button at the end of the list.
  function listAddButton(list) {
    return list.querySelector(":scope > .rjf-form-group-inner > .rjf-add-button");
  }

  function shortcuts(container) {
    var bar = document.querySelector("[data-form-shortcuts]");
    var outer = container.querySelector(".rjf-form-group-children");
    if (!bar || !outer || bar.dataset.ready) return;
    bar.dataset.ready = "1";
    Array.prototype.forEach.call(outer.children, function (child) {
      var list = child.querySelector(":scope > .rjf-form-group");
      if (!list || !listAddButton(list)) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = "Add " + singular(groupTitle(list));
      button.addEventListener("click", function () {
        var add = listAddButton(list);
        if (add) add.click();
      });
      bar.appendChild(button);
    });
    bar.hidden = !bar.children.length;
  }

  function enhance(container, prefix) {
    labelInputs(container, prefix);
    followAdds(container);
    // The shortcuts bar is the value's; an override's copy of the form has none.
    var editable = !container.closest(".readonly-form") && !prefix;
    if (editable) shortcuts(container);
    new MutationObserver(function () {
      labelInputs(container, prefix);
      if (editable) shortcuts(container);
    }).observe(container, { childList: true, subtree: true, characterData: true });
    container.addEventListener("input", function () { nameRows(container); });
  }

  document.querySelectorAll("[data-django-jsonform-container]").forEach(function (container) {
    enhance(container);
  });
  window.consoleEnhanceJsonForm = enhance;
  // A page showing a new token's secret answers the form that made it. Turning its history
  // entry into a plain visit means a reload shows the list, never resends the form (which
  // would make a second token).
  if (document.querySelector(".token-secret") && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.href);
  }
})();

// "Values for some customers": the overrides, edited in words. Each override is a rule (a name,
// conditions picked as attribute, operator and values, and the value in the same schema form as
// the config's) or a percentage split (variants with a name, a percentage and a value). The
// editor keeps each override as the JSON it stands for, changing only what is edited, and writes
// the list into the overrides box (which works on its own without JavaScript) when the form is
// sent. Problems the server found come back beside the override, condition or variant.
(function () {
  "use strict";
  var root = document.querySelector("[data-overrides]");
  var dataNode = document.getElementById("overrides-data");
  if (!root || !dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  // JSON typed in the box that the editor cannot show stays in the box, with its error.
  if (!Array.isArray(data.overrides)) return;
  var form = root.closest("form");
  var box = root.querySelector("textarea.overrides-json");
  var mode = root.querySelector('input[name="overrides_editor"]');
  var list = root.querySelector("[data-overrides-list]");
  var template = document.getElementById("override-value-template");
  var operators = {};
  data.operators.forEach(function (o) { operators[o.op] = o; });
  var NUMBERS = { lt: 1, lte: 1, gt: 1, gte: 1 };
  var serial = 0;
  var items = [];

  function clone(value) { return value === undefined ? undefined : JSON.parse(JSON.stringify(value)); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function errors(messages, id) {
    var shown = el("ul", { className: "errorlist", id: id });
    (messages || []).forEach(function (m) { shown.appendChild(el("li", { text: m })); });
    shown.hidden = !shown.children.length;
    return shown;
  }

  // Tie an input to its help and its problems (found in `scope`: it may not be on the page yet).
  function describe(input, ids, scope) {
    var found = ids.filter(function (id) {
      var node = scope.querySelector("#" + CSS.escape(id));
      return node && !node.hidden;
    });
    if (found.length) input.setAttribute("aria-describedby", found.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  function field(id, label, input, help) {
    input.id = id;
    var row = el("div", { className: "override-field" }, [el("label", { for: id, text: label }), input]);
    if (help) {
      row.appendChild(el("div", { className: "help", id: id + "-help", text: help }));
      input.setAttribute("aria-describedby", id + "-help");
    }
    return row;
  }

  function button(text, onClick, className) {
    var b = el("button", { type: "button", className: "button " + (className || ""), text: text });
    b.addEventListener("click", onClick);
    return b;
  }

  // What the config's value is now in its editor: where a new override's value starts.
  function currentValue() {
    var editor = document.querySelector('input[name="editor"]');
    var hidden = document.getElementById("id_value");
    var raw = document.querySelector("textarea.raw-json");
    try {
      if (hidden && hidden.value && (!editor || editor.value !== "raw")) return JSON.parse(hidden.value);
      if (raw && raw.value.trim()) return JSON.parse(raw.value);
    } catch (e) { /* fall through: start empty */ }
    return null;
  }

  // One value an override serves: the schema form once more, or a JSON box without a schema.
  function valueEditor(uid, label, value, errorMap) {
    var heading = el("p", { className: "override-value-label", id: uid + "-label", text: label });
    var wrap = el("div", { className: "override-value", role: "group", "aria-labelledby": uid + "-label" }, [heading]);
    if (!data.form_editor || !template) {
      var text = el("textarea", { rows: "8", className: "vLargeTextField", spellcheck: "false" });
      text.value = JSON.stringify(value, null, 2);
      wrap.appendChild(field(uid + "-json", label + " (JSON)", text));
      var problem = errors([], uid + "-json-error");
      wrap.appendChild(problem);
      heading.hidden = true;
      wrap.removeAttribute("role");
      return {
        node: wrap,
        read: function () {
          try {
            problem.hidden = true;
            return { value: JSON.parse(text.value) };
          } catch (e) {
            problem.textContent = "";
            problem.appendChild(el("li", { text: label + ": this is not valid JSON (" + e.message + ")." }));
            problem.hidden = false;
            return { problem: text };
          }
        },
      };
    }
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, uid);
    var input = holder.querySelector("textarea[data-django-jsonform]");
    var container = holder.querySelector("[data-django-jsonform-container]");
    var config = JSON.parse(input.getAttribute("data-django-jsonform"));
    config.data = JSON.stringify(value === undefined ? null : value);
    config.errorMap = errorMap || {};
    input.setAttribute("data-django-jsonform", JSON.stringify(config));
    input.removeAttribute("name"); // sent inside the overrides' JSON, not on its own
    container.setAttribute("aria-label", label);
    while (holder.firstChild) wrap.appendChild(holder.firstChild);
    if (window.consoleEnhanceJsonForm) window.consoleEnhanceJsonForm(container, "f-" + uid + "-");
    return {
      node: wrap,
      read: function () {
        // The form writes its data into the hidden box once drawn; until then it is the start.
        try { return { value: input.value ? JSON.parse(input.value) : value }; } catch (e) { return { value: value }; }
      },
    };
  }

  function nameOf(item) {
    var name = (item.model.name || "").trim();
    return name || "override " + (items.indexOf(item) + 1);
  }

  // -- Conditions: attribute, operator, values ------------------------------------------------

  // Values go one per line, so a value may hold a comma (and a pattern a {1,3}); what the box
  // holds is sent as a JSON list, never split again on the server.
  function valuesText(condition) {
    var values = "values" in condition ? condition.values : [condition.value];
    if (!Array.isArray(values)) values = [values];
    return values.map(function (v) { return v === undefined || v === null ? "" : String(v); }).join("\n");
  }

  function readValues(condition, text) {
    var lines = text.split(/\r?\n/);
    // A pattern's spaces are part of it; other values are trimmed as typed.
    var values = condition.op === "matches"
      ? lines.filter(function (v) { return v.trim() !== ""; })
      : lines.map(function (v) { return v.trim(); }).filter(function (v) { return v !== ""; });
    if (NUMBERS[condition.op]) {
      values = values.map(function (v) { return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v) ? Number(v) : v; });
    }
    if ("value" in condition && !("values" in condition) && values.length === 1) {
      condition.value = values[0];
    } else {
      delete condition.value;
      condition.values = values;
    }
  }

  // The values box grows with its lines (one more to type into), up to a few.
  function fitRows(box) {
    box.rows = Math.min(Math.max(box.value.split("\n").length + 1, 2), 8);
  }

  function conditionRow(item, condition, problems) {
    var uid = item.uid + "-c" + (serial++);
    var attribute = el("input", { type: "text", className: "vTextField", list: "override-attributes", autocomplete: "off" });
    attribute.value = condition.attribute || "";
    attribute.addEventListener("input", function () { condition.attribute = attribute.value.trim(); });
    var op = el("select");
    data.operators.forEach(function (o) { op.appendChild(el("option", { value: o.op, text: o.words })); });
    if (!operators[condition.op]) condition.op = "in";
    op.value = condition.op;
    var values = el("textarea", { className: "vTextField override-values", spellcheck: "false" });
    values.value = valuesText(condition);
    fitRows(values);
    var help = el("div", { className: "help", id: uid + "-values-help" });
    var problem = errors(problems, uid + "-error");
    function explain() {
      help.textContent = operators[condition.op].help;
      describe(values, [uid + "-values-help", uid + "-error"], row);
    }
    values.addEventListener("input", function () { readValues(condition, values.value); fitRows(values); });
    op.addEventListener("change", function () {
      condition.op = op.value;
      readValues(condition, values.value);
      explain();
    });
    var row = el("div", { className: "override-condition", role: "group" }, [
      field(uid + "-attribute", "Attribute", attribute),
      field(uid + "-op", "Operator", op),
      field(uid + "-values", "Values", values),
    ]);
    values.parentNode.appendChild(help);
    var remove = button("Remove condition", function () {
      var at = item.conditions.indexOf(entry);
      item.conditions.splice(at, 1);
      item.model.when.splice(at, 1);
      row.remove();
      renumber(item);
      var next = item.conditions[at] || item.conditions[at - 1];
      (next ? next.attribute : item.addCondition).focus();
    }, "override-remove");
    row.appendChild(remove);
    row.appendChild(problem);
    explain();
    var entry = { row: row, attribute: attribute, remove: remove };
    return entry;
  }

  function renumber(item) {
    item.conditions.forEach(function (c, n) {
      c.row.setAttribute("aria-label", "Condition " + (n + 1) + " of " + nameOf(item));
      c.remove.textContent = "Remove condition " + (n + 1);
      // A value for some customers says whom it is for: its last condition stays.
      c.remove.hidden = item.model.split === undefined && item.conditions.length === 1;
    });
  }

  // -- Split: variants with a name, a percentage and a value ------------------------------------

  function percentOf(bucket) {
    return typeof bucket.percent === "number" && isFinite(bucket.percent) ? bucket.percent : NaN;
  }

  function splitTotal(item) {
    var total = 0;
    var missing = false;
    item.model.split.buckets.forEach(function (b) {
      var p = percentOf(b);
      if (isNaN(p)) missing = true; else total += p;
    });
    total = Math.round(total * 1e6) / 1e6;
    var ok = !missing && total === 100;
    item.total.textContent = missing
      ? "Give each variant a percentage from 0 to 100."
      : ok ? "The percentages add up to 100%."
      : "The percentages add up to " + total + "%: they must add up to 100%.";
    item.total.className = ok ? "help split-total" : "errorlist split-total";
    return ok;
  }

  function variantRow(item, bucket, problems, errorMap) {
    var uid = item.uid + "-v" + (serial++);
    var name = el("input", { type: "text", className: "vTextField" });
    name.value = bucket.name || "";
    name.addEventListener("input", function () {
      if (name.value.trim()) bucket.name = name.value.trim(); else delete bucket.name;
      relabel();
    });
    var percent = el("input", { type: "number", min: "0", max: "100", step: "any", className: "vIntegerField" });
    percent.value = bucket.percent === undefined || bucket.percent === null ? "" : String(bucket.percent);
    percent.addEventListener("input", function () {
      bucket.percent = percent.value === "" ? null : Number(percent.value);
      splitTotal(item);
    });
    var editor = valueEditor(uid + "-value", "Value for this variant", bucket.value, errorMap);
    var row = el("div", { className: "override-variant", role: "group" }, [
      field(uid + "-name", "Variant name", name, "Optional; OpenFeature names the variant by it."),
      field(uid + "-percent", "Percentage", percent),
      editor.node,
    ]);
    var problem = errors(problems, uid + "-error");
    var remove = button("Remove variant", function () {
      var at = item.variants.indexOf(entry);
      item.variants.splice(at, 1);
      item.model.split.buckets.splice(at, 1);
      row.remove();
      relabelAll();
      splitTotal(item);
      var next = item.variants[at] || item.variants[at - 1];
      (next ? next.name : item.addVariant).focus();
    }, "override-remove");
    row.appendChild(remove);
    row.appendChild(problem);
    var entry = { row: row, name: name, percent: percent, editor: editor, bucket: bucket, remove: remove };
    function relabel() {
      var n = item.variants.indexOf(entry) + 1;
      var called = bucket.name || "variant " + n;
      row.setAttribute("aria-label", "Variant " + called + " of " + nameOf(item));
      remove.textContent = "Remove variant " + called;
    }
    function relabelAll() { item.variants.forEach(function (v) { v.relabel(); }); }
    entry.relabel = relabel;
    return entry;
  }

  // -- One override ------------------------------------------------------------------------------

  // An override is folded to a line in words ("Override 1: globex. For company globex") unless
  // it is new or has a problem, so the keyboard passes a config's many overrides in a few steps.
  function overrideCard(model, problems, summary, open) {
    problems = problems || {};
    var item = { model: model, uid: "override-" + (serial++), conditions: [], variants: [], summary: summary };
    var isSplit = model.split !== undefined;
    var card = el("div", { className: "module override-card", "data-override": "", role: "group", "aria-labelledby": item.uid + "-title" });
    var details = el("details");
    if (open) details.open = true;
    var title = el("span", { className: "override-title" });
    var words = el("span", { className: "override-whom" });
    details.appendChild(el("summary", { id: item.uid + "-title" }, [title, words]));
    var body = el("div", { className: "override-body" });
    details.appendChild(body);
    card.appendChild(details);
    body.appendChild(errors(problems.override, item.uid + "-error"));
    var name = el("input", { type: "text", className: "vTextField", maxlength: "100" });
    name.value = model.name || "";
    var nameRow = field(item.uid + "-name", "Name", name, isSplit
      ? "Reviewers read it; OpenFeature reports it with the variant's name."
      : "Reviewers read it; OpenFeature reports it as the variant.");
    nameRow.appendChild(errors(problems.name, item.uid + "-name-error"));
    describe(name, [item.uid + "-name-help", item.uid + "-name-error"], nameRow);
    body.appendChild(nameRow);
    item.name = name;

    // Conditions: who gets it (a split may narrow whom it splits, too).
    if (!Array.isArray(model.when)) model.when = isSplit ? [] : [{ attribute: "company", op: "in", values: [] }];
    var conditions = el("fieldset", { className: "override-conditions" }, [
      el("legend", { text: isSplit ? "Only for (optional; every condition must match)" : "Who gets this value (every condition must match)" }),
    ]);
    // Once its conditions are edited, the words the server wrote for it no longer hold.
    conditions.addEventListener("input", function () { item.summary = ""; });
    conditions.addEventListener("change", function () { item.summary = ""; });
    var conditionProblems = problems.condition || {};
    model.when.forEach(function (c, n) {
      var entry = conditionRow(item, c, conditionProblems[String(n)]);
      item.conditions.push(entry);
      conditions.appendChild(entry.row);
    });
    item.addCondition = button("Add a condition", function () {
      var c = { attribute: "", op: "in", values: [] };
      model.when.push(c);
      item.summary = "";
      var entry = conditionRow(item, c, []);
      item.conditions.push(entry);
      conditions.insertBefore(entry.row, item.addCondition);
      relabel();
      entry.attribute.focus();
    });
    conditions.appendChild(item.addCondition);
    body.appendChild(conditions);

    if (!isSplit) {
      item.value = valueEditor(item.uid + "-value", "Value for them", model.value, problems.value_errors);
      body.appendChild(item.value.node);
    } else {
      var by = el("input", { type: "text", className: "vTextField", list: "override-attributes", autocomplete: "off" });
      by.value = model.split.by || "targetingKey";
      by.addEventListener("input", function () { model.split.by = by.value.trim(); item.summary = ""; });
      body.appendChild(field(item.uid + "-by", "Split by (attribute)", by,
        "Each customer stays in one variant: a stable hash of this attribute and the config's key."));
      var variants = el("fieldset", { className: "override-variants" }, [
        el("legend", { text: "Variants (the percentages must add up to 100)" }),
      ]);
      if (!Array.isArray(model.split.buckets)) model.split.buckets = [];
      var bucketProblems = problems.bucket || {};
      var bucketErrors = problems.bucket_value_errors || {};
      model.split.buckets.forEach(function (b, n) {
        var entry = variantRow(item, b, bucketProblems[String(n)], bucketErrors[String(n)]);
        item.variants.push(entry);
        variants.appendChild(entry.row);
      });
      item.addVariant = button("Add a variant", function () {
        var b = { percent: null, value: currentValue() };
        model.split.buckets.push(b);
        var entry = variantRow(item, b, [], {});
        item.variants.push(entry);
        variants.insertBefore(entry.row, item.addVariant);
        item.variants.forEach(function (v) { v.relabel(); });
        splitTotal(item);
        entry.name.focus();
      });
      variants.appendChild(item.addVariant);
      item.total = el("p", { "aria-live": "polite", id: item.uid + "-total" });
      variants.appendChild(item.total);
      variants.appendChild(errors(problems.split, item.uid + "-split-error"));
      body.appendChild(variants);
    }

    var up = button("Move up", function () { move(item, -1, up); });
    var down = button("Move down", function () { move(item, 1, down); });
    var remove = button("Remove", function () { removeOverride(item); }, "override-remove");
    card.appendChild(el("p", { className: "override-actions" }, [up, down, remove]));
    item.card = card;
    item.details = details;
    item.up = up;
    item.down = down;
    item.remove = remove;
    item.title = title;
    item.words = words;
    item.toggle = details.querySelector("summary");
    name.addEventListener("input", function () {
      model.name = name.value;
      relabel();
    });
    return item;
  }

  function relabel() {
    items.forEach(function (item, n) {
      var called = nameOf(item);
      item.title.textContent = "Override " + (n + 1) + (item.model.name ? ": " + item.model.name : "") +
        (item.model.split !== undefined ? " (percentage split)" : "");
      item.words.textContent = item.summary ? ". " + item.summary : "";
      item.up.textContent = "Move " + called + " up";
      item.down.textContent = "Move " + called + " down";
      item.remove.textContent = "Remove " + called;
      // Only moves there is room for are offered.
      item.up.hidden = n === 0;
      item.down.hidden = n === items.length - 1;
      renumber(item);
      item.variants.forEach(function (v) { v.relabel(); });
      if (item.total) splitTotal(item);
    });
    root.querySelector("[data-overrides-empty]").hidden = items.length > 0;
    showJson();
  }

  function move(item, step, pressed) {
    var at = items.indexOf(item);
    var to = at + step;
    if (to < 0 || to >= items.length) return;
    items.splice(at, 1);
    items.splice(to, 0, item);
    if (step < 0) list.insertBefore(item.card, items[to + 1].card);
    else list.insertBefore(item.card, items[to - 1].card.nextSibling);
    relabel();
    (pressed.hidden ? (step < 0 ? item.down : item.up) : pressed).focus();
  }

  function removeOverride(item) {
    var at = items.indexOf(item);
    items.splice(at, 1);
    item.card.remove();
    relabel();
    var next = items[at] || items[at - 1];
    (next ? next.toggle : root.querySelector("[data-add-override]")).focus();
  }

  function add(model, problems, summary, open) {
    var item = overrideCard(model, problems, summary, open);
    items.push(item);
    list.appendChild(item.card);
    return item;
  }

  // -- What is sent ------------------------------------------------------------------------------

  // `quiet`: only to show (as JSON), not to send: no override is unfolded for its problem.
  function built(quiet) {
    var overrides = [];
    var problem = null;
    items.forEach(function (item) {
      var model = clone(item.model);
      if (item.value) {
        var read = item.value.read();
        if (read.problem) {
          if (!quiet) item.details.open = true;
          problem = problem || read.problem;
        } else {
          model.value = read.value;
        }
      }
      if (item.variants.length || model.split) {
        item.variants.forEach(function (v, n) {
          var readBucket = v.editor.read();
          if (readBucket.problem) {
            if (!quiet) item.details.open = true;
            problem = problem || readBucket.problem;
          }
          else model.split.buckets[n].value = readBucket.value;
        });
        if (!splitTotal(item)) {
          if (!quiet) item.details.open = true;
          problem = problem || (item.variants.length ? item.variants[0].percent : item.addVariant);
        }
      }
      overrides.push(model);
    });
    return { overrides: overrides, problem: problem };
  }

  // "Show as JSON": what the editor sends, for engineers, kept up to date while it is open.
  // "Edit … as JSON instead" hands that JSON to the overrides box (in the editor's terms: dates
  // in the page's zone, empty fields not set) and leaves the editor for this visit.
  var asJson = root.querySelector("[data-overrides-json]");
  var asJsonText = document.getElementById("overrides-as-json");
  var editingJson = false;
  function showJson() {
    if (asJson && asJson.open) asJsonText.value = JSON.stringify(built(true).overrides, null, 2);
  }
  if (asJson) {
    asJson.hidden = false;
    asJson.addEventListener("toggle", showJson);
    ["input", "change"].forEach(function (name) { list.addEventListener(name, showJson); });
    // The schema form writes its data a moment after a click (an item added or removed).
    list.addEventListener("click", function () { setTimeout(showJson, 0); });
    asJson.querySelector("[data-overrides-edit-json]").addEventListener("click", function () {
      box.value = JSON.stringify(built(true).overrides, null, 2);
      mode.value = "form";
      editingJson = true;
      list.hidden = true;
      asJson.hidden = true;
      root.querySelector("[data-overrides-add]").hidden = true;
      root.querySelector("[data-overrides-empty]").hidden = true;
      root.querySelector("[data-overrides-raw]").hidden = false;
      box.focus();
    });
  }

  form.addEventListener("submit", function (event) {
    if (editingJson) return; // the box is sent as typed
    var sent = built();
    // "Keep editing" sends what there is, whatever it holds; the other buttons check first.
    var checking = !(event.submitter && event.submitter.hasAttribute("formnovalidate"));
    if (sent.problem && checking) {
      event.preventDefault();
      sent.problem.focus();
      return;
    }
    box.value = JSON.stringify(sent.overrides);
    mode.value = "form";
  });

  root.querySelector("[data-overrides-raw]").hidden = true;
  root.querySelector("[data-overrides-add]").hidden = false;
  root.querySelectorAll("[data-add-override]").forEach(function (b) {
    b.addEventListener("click", function () {
      var model = b.getAttribute("data-add-override") === "split"
        ? { name: "", split: { by: "targetingKey", buckets: [
            { name: "control", percent: 50, value: currentValue() },
            { name: "new", percent: 50, value: currentValue() },
          ] } }
        : { name: "", when: [{ attribute: "company", op: "in", values: [] }], value: currentValue() };
      var item = add(model, {}, "", true);
      relabel();
      item.name.focus();
    });
  });
  data.overrides.forEach(function (model, n) {
    var problems = data.problems[String(n)];
    add(model, problems, data.summaries[n], !!problems);
  });
  relabel();
})();
