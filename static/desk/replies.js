// Reply templates (快捷短语) on the ticket page: "Copy" puts the reply's text, as the agent may have edited it, on the
// clipboard. The Clipboard API needs a secure context (https or localhost); elsewhere the selected text is copied
// with execCommand, and if the browser refuses both, the text stays selected for Ctrl+C.
(function () {
  "use strict";
  var panel = document.getElementById("reply-templates");
  if (!panel) {
    return;
  }

  function copyBySelection(field) {
    field.focus();
    field.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function copy(field) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(field.value).then(
        function () { return true; },
        function () { return copyBySelection(field); }
      );
    }
    return Promise.resolve(copyBySelection(field));
  }

  panel.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector(".desk-copy-status");
    copy(field).then(function (copied) {
      panel.querySelectorAll(".desk-copy-status").forEach(function (other) { other.textContent = ""; });
      status.textContent = copied ? panel.dataset.copied : panel.dataset.copyFailed;
      if (!copied) {
        field.select();
      }
    });
  });
})();
