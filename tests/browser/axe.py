"""axe-core, from npm (package.json), run inside Chromium on a console page."""

from pathlib import Path

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:
    """The critical and serious violations axe-core finds on the page as it is now, with the
    experimental label-content-name-mismatch rule on (a button's words are its name)."""
    assert AXE_JS.exists(), "axe-core is missing: run `npm ci` in the project (make test does)."
    # Evaluated rather than added as a <script>: the page's Content-Security-Policy refuses
    # inline scripts, and the check must see the page exactly as people get it.
    page.evaluate(AXE_JS.read_text())
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"],
                rules: {"label-content-name-mismatch": {enabled: true}}})).violations
            .filter(v => v.impact === "critical" || v.impact === "serious")
            .map(v => v.id + " (" + v.impact + "): " + v.nodes.slice(0, 3)
                .map(n => n.target.join(" ")).join(", "))"""
    )
    return [f"{page.url}: {item}" for item in found]
