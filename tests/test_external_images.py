"""External images (`![alt](external:ID)`): credited from a manifest, a placeholder
and a warning when the file is absent, an error with --strict.

Fixtures in tests/fixtures/external: NAME.md -> NAME.txt, every diagnostic of one
render; render.md -> render.html, its slides. The default manifest is
external/images.yaml beside the Markdown (present.svg is there, absent.png is not).
"""

import subprocess
import sys

import pytest
from deck_fixtures import FIXTURES, assert_matches, cases, slides_markup

from talkbuild.build import PROJECT, BuildConfig, render
from talkbuild.external import load_manifest

EXTERNAL = FIXTURES / "external"


def render_external(name: str, strict: bool = False):
    return render(BuildConfig(source=EXTERNAL / name, figures=False, strict=strict))


@pytest.mark.parametrize("source", cases("external", "**/*.md"))
def test_fixture_reports_expected_diagnostics(source, monkeypatch):
    monkeypatch.chdir(EXTERNAL)
    rendered = render_external(source.relative_to(EXTERNAL))
    actual = "".join(f"{d}\n" for d in rendered.diagnostics)
    assert_matches(actual, source.with_suffix(".txt"))


def test_present_and_missing_images_render_as_figures_or_placeholders(monkeypatch):
    monkeypatch.chdir(EXTERNAL)
    rendered = render_external("render.md")
    assert [d for d in rendered.diagnostics if d.is_error] == []
    assert_matches(slides_markup(rendered.page), EXTERNAL / "render.html")


def test_a_present_image_is_copied_into_the_deck_with_its_credit(monkeypatch):
    monkeypatch.chdir(EXTERNAL)
    rendered = render_external("render.md")
    assert [a.source for a in rendered.assets if a.dest.startswith("media/")] == [
        EXTERNAL / "external" / "present.svg"
    ]
    page = rendered.page
    assert '<img src="media/present.svg" alt="A dot" title="A dot that is here">' in page
    assert (
        'Photo: A. Photographer, <a href="https://creativecommons.org/licenses/by/2.0/">'
        'CC BY 2.0</a>, <a href="https://example.org/present">source</a>'
    ) in page


def test_a_missing_image_is_a_placeholder_naming_the_file_and_folder(monkeypatch):
    monkeypatch.chdir(EXTERNAL)
    page = render_external("render.md").page
    assert (
        "Image not included in the repository: put <code>absent.png</code> in "
        "<code>tests/fixtures/external/external/</code>"
    ) in page
    assert (
        "Image: Someone &amp; Co, © Someone, "
        '<a href="https://example.org/absent?a=1&amp;b=2">source</a>'
    ) in page


def test_a_missing_image_is_a_warning_that_names_the_expected_file(monkeypatch):
    monkeypatch.chdir(EXTERNAL)
    diagnostics = render_external("render.md").diagnostics
    assert [str(d) for d in diagnostics][:1] == [
        "render.md:3: warning: external image 'absent' missing: external/absent.png"
    ]
    assert all(not d.is_error for d in diagnostics)


def test_strict_makes_a_missing_image_an_error(monkeypatch):
    monkeypatch.chdir(EXTERNAL)
    diagnostics = render_external("render.md", strict=True).diagnostics
    assert [str(d) for d in diagnostics if d.is_error] == [
        "render.md:3: external image 'absent' missing: external/absent.png",
        "render.md:9: external image 'absent' missing: external/absent.png",
        "render.md:18: external image 'absent' missing: external/absent.png",
    ]


def run_cli(*args):
    return subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=EXTERNAL,
    )


def test_cli_builds_with_a_warning_and_fails_with_strict(tmp_path):
    result = run_cli("render.md", "-o", tmp_path / "deck", "--no-figures")
    assert result.returncode == 0, result.stderr
    assert (
        "render.md:3: warning: external image 'absent' missing: external/absent.png"
        in result.stderr
    )
    assert (tmp_path / "deck" / "media" / "present.svg").is_file()
    result = run_cli("render.md", "-o", tmp_path / "strict", "--no-figures", "--strict")
    assert result.returncode == 1
    assert "render.md:3: external image 'absent' missing: external/absent.png" in result.stderr
    assert not (tmp_path / "strict").exists()


def test_the_talk_manifest_is_valid():
    manifest, errors = load_manifest(PROJECT / "slides" / "external" / "images.yaml")
    assert errors == []
    assert set(manifest.images) >= {"inceptionism-dumbbells", "io-moth", "pygmy-owl"}
    assert all(
        image.path.parent == PROJECT / "slides" / "external" for image in manifest.images.values()
    )
