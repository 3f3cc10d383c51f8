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

  function labelInputs(root) {
    root.querySelectorAll(".rjf-form-row-inner label").forEach(function (label) {
      var group = label.parentElement.querySelector(".rjf-input-group");
      var input = group && group.querySelector("input, select, textarea");
      if (!input) return;
      if (!input.id) input.id = "f-" + (input.name || "").replace(/[^A-Za-z0-9_-]+/g, "-");
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

  document.querySelectorAll("[data-django-jsonform-container]").forEach(function (container) {
    labelInputs(container);
    followAdds(container);
    var editable = !container.closest(".readonly-form");
    if (editable) shortcuts(container);
    new MutationObserver(function () {
      labelInputs(container);
      if (editable) shortcuts(container);
    }).observe(container, { childList: true, subtree: true, characterData: true });
    container.addEventListener("input", function () { nameRows(container); });
  });
  // A page showing a new token's secret answers the form that made it. Turning its history
  // entry into a plain visit means a reload shows the list, never resends the form (which
  // would make a second token).
  if (document.querySelector(".token-secret") && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.href);
  }
})();
