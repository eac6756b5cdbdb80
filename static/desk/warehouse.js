// The receiving station is worked with a scanner and a keyboard: the scan field has the focus after every page
// load, Esc brings it back from anywhere, and keys 1-5 choose the inspection result outside text fields.
(function () {
  "use strict";
  var TEXT_ENTRY = /^(text|search|number|tel|email|password|url)$/;

  function scanField() {
    return document.getElementById("scan");
  }

  function typing(element) {
    if (!element) return false;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable) return true;
    return tag === "INPUT" && TEXT_ENTRY.test(element.type || "text");
  }

  function focusScan() {
    var field = scanField();
    if (field) {
      field.focus();
      field.select();
    }
  }

  document.addEventListener("DOMContentLoaded", focusScan);

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Escape") {
      event.preventDefault();
      focusScan();
      return;
    }
    if (/^[1-9]$/.test(event.key) && !typing(document.activeElement)) {
      var choices = document.querySelectorAll("input.inspection-result");
      var choice = choices[Number(event.key) - 1];
      if (choice) {
        event.preventDefault();
        choice.checked = true;
        choice.focus();
      }
    }
  });
})();
