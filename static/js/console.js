/* sesconsole: progressive enhancement only. Every page works without this file; with it,
   the region select submits itself, copy buttons appear, tag rows are added and removed in
   place, and the wizard hides the sections that don't apply. Event handlers are delegated
   to the document so content swapped in by htmx works without re-binding. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // --- Region select: submit on change (the Switch button is the no-JS path) ----------------
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-autosubmit]");
    if (select && select.form) {
      select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    }
  });

  // --- Conditional sections: data-show-if="field=value" or data-show-if="checkbox" ----------
  function fieldMatches(form, condition) {
    var parts = condition.split("=");
    var name = parts[0];
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if (input.type === "checkbox") {
        if (input.checked) return true;
      } else if (input.type === "radio") {
        if (input.checked && input.value === parts[1]) return true;
      } else if (input.value === parts[1]) {
        return true;
      }
    }
    return false;
  }

  function applyConditions(root) {
    var forms = root.querySelectorAll ? root.querySelectorAll("[data-conditional]") : [];
    if (root.matches && root.matches("[data-conditional]")) forms = [root].concat([].slice.call(forms));
    [].forEach.call(forms, function (form) {
      form.querySelectorAll("[data-show-if]").forEach(function (section) {
        // Hidden sections keep their inputs, so nothing typed there is lost.
        section.hidden = !fieldMatches(form, section.getAttribute("data-show-if"));
      });
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-conditional]");
    if (form) applyConditions(form);
  });

  // --- Copy buttons --------------------------------------------------------------------------
  var liveRegion;

  function announce(text) {
    if (!liveRegion) {
      liveRegion = document.createElement("div");
      liveRegion.className = "visually-hidden";
      liveRegion.setAttribute("role", "status");
      document.body.appendChild(liveRegion);
    }
    liveRegion.textContent = "";
    window.setTimeout(function () {
      liveRegion.textContent = text;
    }, 50);
  }

  function showCopyButtons(root) {
    if (!navigator.clipboard) return; // no clipboard API: the value stays selectable text
    (root.querySelectorAll ? root : document).querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () {
        button.classList.add("copy-btn--done");
        announce("Copied to the clipboard.");
        window.setTimeout(function () {
          button.classList.remove("copy-btn--done");
        }, 1500);
      },
      function () {
        announce("Copying failed. Select the value and copy it by hand.");
      }
    );
  });

  // --- Tag rows: add and remove in place -------------------------------------------------------
  var tagRowCounter = 0;

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-tag]");
    var remove = event.target.closest("[data-remove-tag]");
    if (!add && !remove) return;
    var container = event.target.closest("[data-tag-rows]");
    if (!container) return;
    event.preventDefault();
    var list = container.querySelector("[data-tag-list]");
    if (remove) {
      var row = remove.closest("[data-tag-row]");
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      (next ? next.querySelector("input") : container.querySelector("[data-add-tag]")).focus();
    } else {
      var max = parseInt(container.getAttribute("data-max"), 10) || 50;
      if (list.children.length >= max) {
        announce("You can add up to " + max + " tags.");
        return;
      }
      var template = container.querySelector("template[data-tag-template]");
      tagRowCounter += 1;
      var html = template.innerHTML.replace(/__i__/g, "new" + tagRowCounter);
      list.insertAdjacentHTML("beforeend", html);
      list.lastElementChild.querySelector("input").focus();
    }
    add = container.querySelector("[data-add-tag]");
    add.disabled = list.children.length >= (parseInt(container.getAttribute("data-max"), 10) || 50);
  });

  // --- Select all rows on a page -----------------------------------------------------------------
  function showSelectAll(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-select-all]").forEach(function (box) {
      box.hidden = false;
    });
  }

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) return;
    var name = all.getAttribute("data-select-all");
    var table = all.closest("table");
    table.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // --- Delete buttons: disabled until something is selected or the confirmation is typed ------
  // Without this file the buttons stay enabled and the server says what is missing.
  function updateGuards() {
    document.querySelectorAll("[data-requires-selection]").forEach(function (button) {
      var name = button.getAttribute("data-requires-selection");
      button.disabled = !document.querySelector('input[type="checkbox"][name="' + name + '"]:checked');
    });
    document.querySelectorAll("[data-requires-match]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-requires-match"));
      button.disabled = !!input && input.value !== input.getAttribute("data-expected");
    });
  }

  document.addEventListener("input", updateGuards);
  document.addEventListener("change", updateGuards);

  // --- Confirmation dialog: a delete's form, loaded by htmx into the page's <dialog> ----------
  // The links and forms carry hx-get/hx-post with hx-target="#console-dialog-body"; once the
  // form is in, open the dialog modally. Cancel closes it instead of leaving the page.
  document.addEventListener("htmx:afterSwap", function (event) {
    var body = event.detail && event.detail.target;
    if (!body || body.id !== "console-dialog-body") return;
    var dialog = document.getElementById("console-dialog");
    var heading = body.querySelector("h1, h2");
    document.getElementById("console-dialog-title").textContent = heading ? heading.textContent : "Confirm";
    if (!dialog.open) dialog.showModal();
    var first = body.querySelector("input:not([type=hidden]), button, a[href]");
    if (first) first.focus();
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("#console-dialog .btn--link");
    if (!cancel) return;
    event.preventDefault();
    document.getElementById("console-dialog").close();
  });

  // --- Start-up, and again for every piece of content htmx swaps in ---------------------------
  function init(root) {
    applyConditions(root);
    showCopyButtons(root);
    showSelectAll(root);
    updateGuards();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      init(document);
    });
  } else {
    init(document);
  }
  document.addEventListener("htmx:load", function (event) {
    init(event.target);
  });
})();
