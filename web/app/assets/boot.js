// Loads the console's WASM bundle and hydrates the page's islands (<leptos-island>): each
// island's export (named by its data-component) takes over its server-rendered element. Without the
// bundle the page keeps working as plain HTML forms.
const pkg = "/console/pkg";

function islands(root) {
  const found = [];
  const walk = (node) => {
    for (const child of node.children) {
      if (child.tagName === "LEPTOS-ISLAND") found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

async function start() {
  const mod = await import(`${pkg}/aoi_console.js`);
  await mod.default({ module_or_path: `${pkg}/aoi_console_bg.wasm` });
  mod.hydrate();
  for (const el of islands(document.body)) {
    const hydrate = mod[el.dataset.component];
    if (hydrate) {
      await hydrate(el);
    } else {
      console.warn(`aoi console: no island named ${el.dataset.component} in the bundle`);
    }
  }
  document.documentElement.dataset.hydrated = "true";
}

if (document.querySelector("leptos-island")) {
  start().catch((e) => {
    console.error("aoi console: live updates are off:", e);
  });
}
