// Searchable people pickers (interview set-up): typing part of a name or e-mail address asks
// the server (/t/{tenant}/people/search) for a few matches, shown as "name <email>"; choosing one
// fills the hidden id field. Without this script the text field takes an e-mail address, which
// the server resolves, so the form works either way.
(function () {
  "use strict";
  const WAIT_MS = 200;

  function setUp(box) {
    const input = box.querySelector("input[id$='_typed']");
    const results = box.querySelector(".picker-results");
    const multiple = box.hasAttribute("data-multiple");
    const name = box.dataset.name;
    let timer = null;
    let active = -1;
    let asked = 0;

    function hidden() { return box.querySelector("input[type=hidden][name='" + name + "']"); }

    function close() {
      results.hidden = true; results.replaceChildren(); active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function choose(person) {
      if (multiple) {
        const chosen = box.querySelector(".picker-chosen");
        if (!chosen.querySelector("input[value='" + person.id + "']")) {
          const item = document.createElement("li");
          const field = document.createElement("input");
          const remove = document.createElement("button");
          field.type = "hidden"; field.name = name; field.value = person.id;
          remove.type = "button"; remove.textContent = box.dataset.removeLabel;
          remove.addEventListener("click", () => item.remove());
          item.append(person.label + " ", field, remove);
          chosen.appendChild(item);
        }
        input.value = "";
      } else {
        hidden().value = person.id;
        input.value = person.label;
      }
      close();
    }

    function show(people) {
      results.replaceChildren();
      active = -1;
      if (!people.length) {
        const none = document.createElement("li");
        none.textContent = box.dataset.emptyLabel;
        none.setAttribute("role", "option");  // a listbox holds options only; this one cannot be chosen
        none.setAttribute("aria-disabled", "true");
        results.appendChild(none);
      }
      people.forEach((person, index) => {
        const option = document.createElement("li");
        option.setAttribute("role", "option");
        option.id = name + "_option_" + index;
        option.textContent = person.label;
        option.addEventListener("mousedown", (event) => { event.preventDefault(); choose(person); });
        option.person = person;
        results.appendChild(option);
      });
      results.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    async function search() {
      const query = input.value.trim();
      if (!query) { close(); return; }
      const mine = ++asked;
      const url = box.dataset.url + "?role=" + encodeURIComponent(box.dataset.role) + "&q=" + encodeURIComponent(query);
      const response = await fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok || mine !== asked) { return; }
      show((await response.json()).people);
    }

    function mark(step) {
      const options = results.querySelectorAll("[role=option]:not([aria-disabled])");
      if (!options.length) { return; }
      if (active >= 0) { options[active].removeAttribute("aria-selected"); }
      active = (active + step + options.length) % options.length;
      options[active].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[active].id);
    }

    // A combobox states whether its list is open and which list it controls (WAI-ARIA 1.2).
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", results.id);
    input.addEventListener("input", () => {
      if (!multiple) { hidden().value = ""; }  // typed again: the earlier choice no longer holds
      clearTimeout(timer);
      timer = setTimeout(search, WAIT_MS);
    });
    input.addEventListener("keydown", (event) => {
      if (results.hidden) { return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        mark(event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(results.querySelectorAll("[role=option]:not([aria-disabled])")[active].person);
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", close);
    for (const button of box.querySelectorAll(".picker-chosen li")) {
      const remove = document.createElement("button");
      remove.type = "button"; remove.textContent = box.dataset.removeLabel;
      remove.addEventListener("click", () => button.remove());
      button.appendChild(remove);
    }
  }

  document.querySelectorAll("[data-picker]").forEach(setUp);
})();
