"""The documented path with the keyboard alone: menus, tabs, dialogs, Esc."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gateway.loading.seed import DEMO_ADMIN, DEMO_PASSWORD
from tests.http.ui.pages import DISPLAY_NAME, AdminApi, key_rows, open_api_keys, row_of


def test_log_in_generate_and_revoke_with_the_keyboard_only(page: Page, gateway: str) -> None:
    AdminApi(gateway).create("Keyboard key")
    page.goto(f"{gateway}/")
    expect(page.get_by_label("Username", exact=True)).to_be_focused()
    page.keyboard.type(DEMO_ADMIN)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    user_button = page.get_by_role("button", name=DISPLAY_NAME)
    expect(user_button).to_be_focused()
    page.keyboard.press("Enter")  # the drop-down opens on its first item
    expect(page.get_by_role("menuitem", name="Self Service")).to_be_focused()
    page.keyboard.press("Escape")  # Esc closes it and gives the focus back
    expect(page.get_by_role("menu")).to_have_count(0)
    expect(user_button).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_role("tab", name="Profile")).to_be_focused()
    page.keyboard.press("ArrowRight")  # tabs follow the arrow keys
    expect(page.get_by_role("tab", name="API Keys")).to_be_focused()
    expect(page.get_by_role("tab", name="API Keys")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Tab")  # the tab panel
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Generate API Key")).to_be_focused()

    page.keyboard.press("Enter")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type("Typed key")
    page.keyboard.press("Enter")  # submits the form: the expiration is preset to 30 days
    key_box = page.get_by_label("API key", exact=True)
    expect(key_box).to_be_focused()
    assert page.evaluate("getSelection().toString() || document.activeElement.value") == key_box.input_value()
    page.keyboard.press("Escape")  # Esc closes the dialog, and the key leaves the page with it
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(key_box).to_have_value("")
    expect(page.get_by_role("button", name="Generate API Key")).to_be_focused()
    expect(row_of(page, "Typed key")).to_contain_text("Just created")

    actions = page.get_by_role("button", name="Actions for Keyboard key")
    actions.focus()
    page.keyboard.press("ArrowDown")
    for item in ("Edit", "Rotate", "Revoke", "Delete"):
        expect(page.get_by_role("menuitem", name=item)).to_be_focused()
        page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Edit")).to_be_focused()  # round again
    page.keyboard.press("Escape")
    expect(actions).to_be_focused()
    expect(actions).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    page.keyboard.press("End")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")  # Revoke
    confirm = page.get_by_role("dialog", name="Revoke API key")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice comes first
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(row_of(page, "Keyboard key").locator("td").nth(8)).to_have_text("Active")
    actions.focus()
    page.keyboard.press("ArrowUp")  # opens on the last item, Delete
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(confirm.get_by_role("button", name="Revoke")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row_of(page, "Keyboard key").locator("td").nth(8)).to_have_text("Revoked")
    expect(key_rows(page)).to_have_count(2)


def test_edit_rotate_and_the_activity_tab_with_the_keyboard_only(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    api.create("Keyboard key")
    open_api_keys(page, gateway)
    actions = page.get_by_role("button", name="Actions for Keyboard key")
    actions.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # Edit, the first item
    description = page.get_by_label("Description", exact=True)
    expect(description).to_be_focused()
    page.keyboard.type("typed")
    save = page.get_by_role("button", name="Save")
    for _ in range(40):  # through the expiration, scopes, data sources, networks and rate limit to Save
        page.keyboard.press("Tab")
        if save.evaluate("button => button === document.activeElement"):
            break
    expect(save).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(actions).to_be_focused()  # back on the row it started from
    expect(row_of(page, "Keyboard key").locator("td.description")).to_have_text("typed")

    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # Rotate
    overlap = page.get_by_label("Overlap in hours (0 to 168)")
    expect(overlap).to_be_focused()
    page.keyboard.press("Escape")  # Esc cancels: nothing rotated
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(actions).to_be_focused()
    assert len(api.records("Keyboard key")) == 1
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.keyboard.type("0")  # the overlap was selected: typing replaces it
    page.keyboard.press("Enter")
    key_box = page.get_by_label("API key", exact=True)
    expect(key_box).to_be_focused()
    page.keyboard.press("Escape")
    expect(key_box).to_have_value("")
    expect(key_rows(page)).to_have_count(2)

    tab = page.get_by_role("tab", name="API Keys")
    tab.focus()
    page.keyboard.press("ArrowRight")  # the tabs follow the arrow keys: Activity
    expect(page.get_by_role("tab", name="Activity")).to_be_focused()
    expect(page.get_by_role("tab", name="Activity")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Tab")  # the panel
    page.keyboard.press("Tab")
    expect(page.get_by_label("Action", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("no such key")
    page.keyboard.press("Enter")  # applies the filters
    expect(page.get_by_text("No events match.")).to_be_visible()
