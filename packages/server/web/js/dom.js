// The page's two ways of finding its elements, shared by every view: by id, and by `data-bind` name
// (the text a view fills in).

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {string} name */
export const bind = (name) => /** @type {HTMLElement} */ (document.querySelector(`[data-bind="${name}"]`));
