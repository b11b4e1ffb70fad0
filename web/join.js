// Keyed enter / update / exit of child elements, in order (like d3's selection.join).
export function join(container, items, key, create, update) {
  const existing = new Map();
  for (const child of container.children) existing.set(child.dataset.key, child);
  let previous = null;
  for (const item of items) {
    const id = String(key(item));
    let element = existing.get(id);
    if (element) existing.delete(id);
    else {
      element = create(item);
      element.dataset.key = id;
    }
    update(element, item);
    const wanted = previous ? previous.nextSibling : container.firstChild;
    if (element !== wanted) container.insertBefore(element, wanted);
    previous = element;
  }
  for (const element of existing.values()) element.remove();
}

export function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}
