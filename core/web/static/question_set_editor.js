// The question-set editor's rows: add, remove and move questions and evaluation items. Rows are
// numbered fields (q_text_0, i_name_3, ...); after every change the rows of a table are numbered
// again in the order shown, which is the order the server keeps. Without this script the form
// still works with its blank rows.
(function () {
  const form = document.getElementById("question-set-form");
  if (!form) return;

  function renumber(body) {
    Array.from(body.rows).forEach(function (row, index) {
      row.querySelector(".row-number").textContent = String(index + 1);
      row.querySelectorAll("input[name]").forEach(function (input) {
        input.name = input.name.replace(/_\d+$/, "_" + index);
        if (input.dataset.label) input.setAttribute("aria-label", input.dataset.label + " " + (index + 1));
      });
      const buttons = row.querySelectorAll(".row-actions button");
      buttons.forEach(function (button) {
        button.setAttribute("aria-label", button.dataset.label + " " + (index + 1));
      });
      buttons[0].disabled = index === 0;
      buttons[1].disabled = index === body.rows.length - 1;
    });
  }

  function button(label, action) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.label = label;
    b.dataset.action = action;
    return b;
  }

  function equip(row) {
    const cell = row.querySelector(".row-actions");
    cell.append(button(form.dataset.up, "up"), button(form.dataset.down, "down"),
                button(form.dataset.remove, "remove"));
  }

  form.querySelectorAll("tbody").forEach(function (body) {
    Array.from(body.rows).forEach(equip);
    renumber(body);
    body.addEventListener("click", function (event) {
      const target = event.target.closest("button[data-action]");
      if (!target) return;
      const row = target.closest("tr");
      if (target.dataset.action === "up" && row.previousElementSibling) {
        body.insertBefore(row, row.previousElementSibling);
      } else if (target.dataset.action === "down" && row.nextElementSibling) {
        body.insertBefore(row.nextElementSibling, row);
      } else if (target.dataset.action === "remove") {
        row.remove();
      }
      renumber(body);
      const focus = row.isConnected ? row.querySelector('button[data-action="' + target.dataset.action + '"]') : null;
      if (focus && !focus.disabled) focus.focus();
    });
  });

  form.querySelectorAll("button.add-row").forEach(function (add) {
    const body = document.getElementById(add.dataset.rows);
    const template = document.getElementById(add.dataset.template);
    add.hidden = false;
    add.addEventListener("click", function () {
      const row = template.content.firstElementChild.cloneNode(true);
      body.append(row);
      equip(row);
      renumber(body);
      row.querySelector('input:not([type="hidden"])').focus();
    });
  });
})();
