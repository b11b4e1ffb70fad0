// Keyed enter / update / exit of child elements, in order (like d3's selection.join).
export function join(container, items, key, create, update) {
  const keys = items.map((item) => String(key(item)));
  const wanted = new Set(keys);
  const existing = new Map();
  for (const child of [...container.children]) {
    if (wanted.has(child.dataset.key)) existing.set(child.dataset.key, child);
    else child.remove(); // exit first, so items that stay in order need no moving
  }
  let previous = null;
  items.forEach((item, i) => {
    let element = existing.get(keys[i]);
    if (!element) {
      element = create(item);
      element.dataset.key = keys[i];
    }
    update(element, item, i);
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (element !== expected) container.insertBefore(element, expected);
    previous = element;
  });
}

export function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}
