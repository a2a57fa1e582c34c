// The context-menu entry "Add to reportkit". A click on it (like a click on the toolbar button) is the only thing
// that starts a capture: this worker never reads or captures a page by itself. The click grants `activeTab` for
// that tab; the selected text is kept in session storage (memory only) for the popup to prefill.
const ext = globalThis.browser ?? globalThis.chrome;
const MENU = "reportkit-add";

ext.runtime.onInstalled.addListener((details) => {
  ext.contextMenus.create({id: MENU, title: "Add to reportkit", contexts: ["page", "selection", "link", "image"]});
  if (details.reason === "install") ext.runtime.openOptionsPage();  // the address and token come first
});

ext.contextMenus.onClicked.addListener((info, tab) => {
  if (info.menuItemId !== MENU || !tab) return;
  const saved = ext.storage.session.set({[`selection:${tab.id}`]: info.selectionText || ""});
  openCapture(tab, saved);  // synchronously in the click's handler: Firefox opens a popup only from there
});

async function openCapture(tab, saved) {
  try {
    if (ext.action.openPopup) {  // Chromium 127+, Firefox: the toolbar popup, over the tab that was clicked
      await ext.action.openPopup({windowId: tab.windowId});
      return;
    }
  } catch (err) {
    // no toolbar to anchor the popup on (a pinned-away button, a popup window): a small window instead
  }
  await saved;
  await openCaptureWindow(tab.id);
}

// The popup page in its own small window, aimed at one tab (?tab=<id>): the tab stays the visible one of its
// own window, which is what captureVisibleTab photographs.
async function openCaptureWindow(tabId) {
  return ext.windows.create({url: ext.runtime.getURL(`popup.html?tab=${tabId}`), type: "popup",
                             width: 440, height: 720});
}
globalThis.openCaptureWindow = openCaptureWindow;
