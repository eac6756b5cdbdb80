// The receiving station is worked with a scanner and a keyboard: the scan field has the focus after every page
// load, Esc brings it back from anywhere, and keys 1-5 choose the inspection result wherever the focus is.
//
// The scan field keeps the focus, so it must tell a scanner from a shortcut. A scanner types a whole tracking number
// as a burst, each key within a few milliseconds of the last, then Enter; a person presses one key. So, on a page
// with inspection results to choose (the inspection page):
//   - a key 1-5 in the scan field that is part of a burst (within BURST_MS of the field's previous key) is input;
//   - a key 1-5 that starts a burst is held for BURST_MS: if the next key follows within that time it was the first
//     character of a scan and goes in before it; if none follows, it was a person and chooses the result;
//   - any other key goes in as typed, so letters, other digits and pasting still work.
// Elsewhere (the station page has no results to choose), every key goes into the scan field as typed.
// Outside the scan field, 1-5 choose the result unless the focus is in a field a clerk types into by hand
// (the notes, the quantities, a drop-down).
(function () {
  "use strict";
  var BURST_MS = 100;
  var SHORTCUT = /^[1-5]$/;
  var TEXT_ENTRY = /^(text|search|number|tel|email|password|url)$/;
  var lastScanKeyAt = -Infinity;
  var held = null; // {key, timer} while a 1-5 waits to see whether a burst follows

  function scanField() {
    return document.getElementById("scan");
  }

  function typedByHand(element) {
    if (!element || element === scanField()) return false;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable) return true;
    return tag === "INPUT" && TEXT_ENTRY.test(element.type || "text");
  }

  function resultChoices() {
    return document.querySelectorAll("input.inspection-result");
  }

  function focusScan() {
    var field = scanField();
    if (field) {
      field.focus();
      field.select();
    }
  }

  function choose(key, moveFocus) {
    var choice = resultChoices()[Number(key) - 1];
    if (!choice) return false;
    choice.checked = true;
    choice.dispatchEvent(new Event("change", { bubbles: true }));
    if (moveFocus) choice.focus(); // from the scan field the focus stays, ready for the next parcel
    return true;
  }

  function insertIntoScan(text) {
    var field = scanField();
    var start = field.selectionStart;
    var end = field.selectionEnd;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.setSelectionRange(start + text.length, start + text.length);
  }

  function releaseHeldAsInput() {
    if (!held) return;
    clearTimeout(held.timer);
    insertIntoScan(held.key);
    held = null;
  }

  function holdForBurst(key) {
    held = {
      key: key,
      timer: setTimeout(function () {
        var waiting = held;
        held = null;
        if (waiting && !choose(waiting.key, false)) insertIntoScan(waiting.key);
      }, BURST_MS),
    };
  }

  document.addEventListener("DOMContentLoaded", focusScan);

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Escape") {
      event.preventDefault();
      releaseHeldAsInput();
      focusScan();
      return;
    }
    var inScan = document.activeElement === scanField() && scanField() !== null;
    if (inScan) {
      var now = event.timeStamp;
      var inBurst = now - lastScanKeyAt < BURST_MS;
      lastScanKeyAt = now;
      if (held) {
        // A key right after a held 1-5: the held key was a scan's first character.
        releaseHeldAsInput();
        return; // this key goes in as usual
      }
      if (SHORTCUT.test(event.key) && !inBurst && resultChoices().length > 0) {
        event.preventDefault();
        holdForBurst(event.key);
      }
      return;
    }
    if (SHORTCUT.test(event.key) && !typedByHand(document.activeElement) && choose(event.key, true)) {
      event.preventDefault();
    }
  });
})();
