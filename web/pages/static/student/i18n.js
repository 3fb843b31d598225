// The page's words: every text comes from the catalogs the server embeds (kk, ru, en); switching language
// re-renders the marked elements in place, so a switch never interrupts the exam.
const data = JSON.parse(document.getElementById("page-data").textContent);
let current = data.lang;

export const page = data;

export function language() {
  return current;
}

export function number(value, digits = 0) {
  return new Intl.NumberFormat(current, { maximumFractionDigits: digits }).format(value);
}

export function dateTime(date) {
  return new Intl.DateTimeFormat(current, { dateStyle: "long", timeStyle: "medium" }).format(date);
}

export function t(key, values = {}) {
  const text = data.catalogs[current][key];
  if (text === undefined) {
    console.error(`no message ${key} in ${current}`);
    return key;
  }
  return text.replace(/\{([a-z_]+)\}/g, (whole, name) => {
    if (!(name in values)) return whole;
    const value = values[name];
    return typeof value === "number" ? number(value, 1) : String(value);
  });
}

// Show message `key` in `element` (and keep it translatable on a language switch).
export function say(element, key, values = {}) {
  element.dataset.i18n = key;
  element.dataset.i18nValues = JSON.stringify(values);
  element.textContent = t(key, values);
}

function valuesOf(element) {
  if (element.dataset.i18nValues) return JSON.parse(element.dataset.i18nValues);
  if (element.dataset.i18nDays) return { days: number(data.retention_days) };
  return {};
}

export function apply(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n, valuesOf(element));
  }
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nLabel));
  }
  for (const element of root.querySelectorAll("[data-i18n-title]")) {
    element.setAttribute("title", t(element.dataset.i18nTitle));
  }
}

export function setLanguage(code) {
  if (!data.languages.includes(code) || code === current) return;
  current = code;
  document.documentElement.lang = code;
  const url = new URL(location.href);
  url.searchParams.set("lang", code);
  history.replaceState(null, "", url);
  for (const link of document.querySelectorAll("[data-lang]")) {
    if (link.dataset.lang === code) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
  apply();
  document.title = `${t("page.title")} · ${document.querySelector(".exam-title").textContent}`;
}
