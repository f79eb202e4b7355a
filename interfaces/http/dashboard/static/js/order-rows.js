// The pieces the order lists (Orders, Planning) build their rows from, so both show an
// order the same way.
import { formatCount, formatKg, formatM3, h } from "./common.js";

/** A table body of one row per item, or one row that says there is none. */
export function fillRows(body, items, row, { columns, empty }) {
  if (!items.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: String(columns), class: "hint", text: empty })));
    return;
  }
  body.replaceChildren(...items.map(row));
}

/** A link to an order's page, named by its external id. */
export function orderLink(order) {
  return h("a", { href: `/dashboard/order?id=${encodeURIComponent(order.orderId)}`, text: order.externalOrderId });
}

/** The cells of an order's weight, volume and pallets, as the order lists show them. */
export function amountCells(order) {
  return [
    h("td", { class: "num", "data-label": "Weight (kg)", text: formatKg(order.totalWeight) }),
    h("td", { class: "num", "data-label": "Volume (m³)", text: formatM3(order.volume) }),
    h("td", { class: "num", "data-label": "Pallets", text: formatCount(order.palletCount) }),
  ];
}
