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
    var summary = document.getElementById("error-summary") || document.getElementById("preview");
    if (summary) { summary.scrollIntoView({ block: "start" }); summary.focus(); }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

// django-jsonform draws labels that are not tied to their inputs. Tie them, so screen readers
// announce each input's title and a click on a label focuses its input; redo it whenever the
// form redraws (items added or removed).
(function () {
  "use strict";
  function labelInputs(root) {
    root.querySelectorAll(".rjf-form-row-inner label").forEach(function (label) {
      var group = label.parentElement.querySelector(".rjf-input-group");
      var input = group && group.querySelector("input, select, textarea");
      if (!input) return;
      if (!input.id) input.id = "f-" + (input.name || "").replace(/[^A-Za-z0-9_-]+/g, "-");
      if (label.htmlFor !== input.id) label.htmlFor = input.id;
    });
  }
  document.querySelectorAll("[data-django-jsonform-container]").forEach(function (container) {
    labelInputs(container);
    new MutationObserver(function () { labelInputs(container); })
      .observe(container, { childList: true, subtree: true });
  });
  // A page showing a new token's secret answers the form that made it. Turning its history
  // entry into a plain visit means a reload shows the list, never resends the form (which
  // would make a second token).
  if (document.querySelector(".token-secret") && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.href);
  }
})();

// A new token's field selects itself on focus, ready to copy (no inline handlers: the
// Content-Security-Policy refuses them).
document.querySelectorAll(".token-secret").forEach(function (el) {
  el.addEventListener("focus", function () { el.select(); });
});
