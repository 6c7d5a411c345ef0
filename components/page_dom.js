// What the components' in-page scripts share (components/page_script.py puts this file before each of them: an
// inline Custom Component's script cannot import another file): the mount, element and SVG builders, axis steps,
// truncation.

const SVG = "http://www.w3.org/2000/svg";
const VIEWS = new WeakMap(); // one view per mounted component (its parent element)

// A component's entry point: one View per parent element, kept across reruns (it gets each new data and the
// state setter); the cleanup Streamlit calls on unmount destroys it.
function mountView(component, View) {
  const { data, parentElement, setStateValue } = component;
  let view = VIEWS.get(parentElement);
  if (!view) {
    view = new View(parentElement);
    VIEWS.set(parentElement, view);
  }
  view.setStateValue = setStateValue;
  view.receive(data);
  return () => {
    view.destroy();
    VIEWS.delete(parentElement);
  };
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function svgEl(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

function niceStep(span, target) {
  const raw = span / Math.max(1, target);
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function truncate(text, limit) {
  return text.length > limit ? text.slice(0, limit - 1) + "…" : text;
}
