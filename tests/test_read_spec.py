"""parse_spec / read_spec: what counts as a success criterion, and what the author must fix."""

from __future__ import annotations

import pytest

from specmill.errors import BadInput, SpecNotFound, SpecWithoutCriteria
from specmill.models import Note
from specmill.phases.read_spec import parse_spec, read_spec
from specmill.ports.spec_store import MemorySpecStore

SPEC = """---
title: Todo API
type: spec
tags: [api, todo]
---

# Todo API

Build a small todo service.

## Requirements
- [ ] a checklist outside the criteria headings is not a criterion

```markdown
## How to Evaluate
- [ ] inside a fence is an example, not a criterion
```

## How to Evaluate
- [ ] GET /todos returns a list
  including archived ones
- [x] POST /todos creates a todo
  - [ ] nested items count too
* [ ] star bullets count

### Edge cases
- [ ] deleting a missing todo returns 404

## Implementation Status

- Status: **failed**

### Success Criteria
- [ ] specmill's own section is ignored

## Notes
- [ ] notes are not criteria
"""


def note(content: str, title: str = "Todo API") -> Note:
    return Note(project="specs", permalink="specs/todo-api", title=title, content=content)


def test_criteria_come_from_evaluation_sections_only() -> None:
    spec = parse_spec(note(SPEC))
    assert [(c.text, c.checked, c.section) for c in spec.criteria] == [
        ("GET /todos returns a list including archived ones", False, "How to Evaluate"),
        ("POST /todos creates a todo", True, "How to Evaluate"),
        ("nested items count too", False, "How to Evaluate"),
        ("star bullets count", False, "How to Evaluate"),
        ("deleting a missing todo returns 404", False, "Edge cases"),
    ]


def test_frontmatter_sections_and_body() -> None:
    spec = parse_spec(note(SPEC))
    assert spec.frontmatter == {"title": "Todo API", "type": "spec", "tags": ["api", "todo"]}
    assert (spec.project, spec.permalink, spec.title) == ("specs", "specs/todo-api", "Todo API")
    assert {"Todo API", "Requirements", "How to Evaluate", "Edge cases", "Notes"} <= set(spec.sections)
    assert "Implementation Status" not in spec.sections
    assert spec.sections["Edge cases"] == "- [ ] deleting a missing todo returns 404"
    assert "specmill's own section" not in spec.body
    assert "title: Todo API" not in spec.body
    assert "## Notes" in spec.body


@pytest.mark.parametrize(
    "heading",
    ["## How to Evaluate", "# success criteria", "### Acceptance Criteria", "## Acceptance criteria (v2) ##"],
)
def test_criteria_heading_names_and_levels(heading: str) -> None:
    spec = parse_spec(note(f"# Spec\n\n{heading}\n\n- [ ] it works\n"))
    assert [c.text for c in spec.criteria] == ["it works"]


def test_no_frontmatter_is_fine() -> None:
    spec = parse_spec(note("# Spec\n\n## How to Evaluate\n- [ ] it works\n"))
    assert spec.frontmatter == {}
    assert spec.criteria[0].text == "it works"


def test_malformed_frontmatter_is_bad_input() -> None:
    with pytest.raises(BadInput, match="malformed YAML frontmatter") as caught:
        parse_spec(note("---\ntitle: [unclosed\n---\n\n## How to Evaluate\n- [ ] x\n"))
    assert "\n" not in str(caught.value)


def test_frontmatter_that_is_not_a_mapping_is_bad_input() -> None:
    with pytest.raises(BadInput, match="not a mapping"):
        parse_spec(note("---\n- a\n- b\n---\n\n## How to Evaluate\n- [ ] x\n"))


def test_no_criteria_names_the_spec_and_the_fix() -> None:
    with pytest.raises(SpecWithoutCriteria) as caught:
        parse_spec(note("# Spec\n\n## Requirements\n- [ ] not here\n", title="Lonely Spec"))
    assert str(caught.value) == (
        "spec 'Lonely Spec' has no success criteria: add '- [ ] ...' items under a '## How to Evaluate' heading"
    )


def test_criteria_only_in_status_section_do_not_count() -> None:
    content = "# Spec\n\n## Implementation Status\n\n## How to Evaluate\n- [ ] x\n"
    # '## How to Evaluate' at level 2 ends the status section, so it counts.
    assert [c.text for c in parse_spec(note(content)).criteria] == ["x"]
    hidden = "# Spec\n\n## Implementation Status\n\n### How to Evaluate\n- [ ] x\n"
    with pytest.raises(SpecWithoutCriteria):
        parse_spec(note(hidden))


def test_read_spec_goes_through_the_store() -> None:
    store = MemorySpecStore()
    store.put("specs", "specs/todo-api", SPEC, title="Todo API")
    for identifier in ("specs/todo-api", "Todo API", "todo api", "memory://specs/todo-api"):
        assert len(read_spec(store, identifier, "specs").criteria) == 5
    with pytest.raises(SpecNotFound, match="'specs/missing' not found in Basic Memory project 'specs'"):
        read_spec(store, "specs/missing", "specs")


# The shape of Basic Memory's own specs: criteria as plain bullets under '### Success Criteria'.
REAL_SPEC = """---
title: 'SPEC-42: Faster Sync'
type: spec
status: draft
tags:
- sync
---

# SPEC-42: Faster Sync

## Why

Sync loads every file into memory:
- 1.5 GB peak on a 2,600-file project

## What

- scan with `os.scandir()` and compare mtime and size
- stream checksums of large files

## How to Evaluate

### Success Criteria

**Memory**:
- Peak memory under 500 MB for 2,000+ files
- Large files are read in chunks:
  - 64 KB at a time
  - never the whole file

**Speed**:
1. Initial scan under 30 seconds

### Test Plan
- unit tests for the mtime comparison
- a load test with 1,000 files

## Implementation Status

- Status: **failed**

### Success Criteria
- specmill's own section is not the author's
"""


def test_plain_bullets_under_success_criteria_are_the_criteria() -> None:
    spec = parse_spec(note(REAL_SPEC, title="SPEC-42: Faster Sync"))
    assert [(c.text, c.checked, c.section) for c in spec.criteria] == [
        ("Peak memory under 500 MB for 2,000+ files", False, "Success Criteria"),
        ("Large files are read in chunks: 64 KB at a time; never the whole file", False, "Success Criteria"),
        ("Initial scan under 30 seconds", False, "Success Criteria"),
    ]
    assert spec.frontmatter["status"] == "draft"
    assert {"Why", "What", "How to Evaluate", "Success Criteria", "Test Plan"} <= set(spec.sections)
    assert "Success Criteria (2)" not in spec.sections


@pytest.mark.parametrize("heading", ["## Success criteria", "### ACCEPTANCE CRITERIA", "## Acceptance Criteria:"])
def test_plain_bullets_count_under_any_heading_that_names_criteria(heading: str) -> None:
    spec = parse_spec(note(f"# Spec\n\n{heading}\n\n- it works\n- it is fast\n"))
    assert [c.text for c in spec.criteria] == ["it works", "it is fast"]


def test_plain_bullets_elsewhere_are_not_criteria() -> None:
    for content in (
        "# Spec\n\n## How to Evaluate\n- a test plan, not a checklist\n",
        "# Spec\n\n## Requirements\n- a requirement\n",
        "# Spec\n\n## Implementation Status\n\n### Success Criteria\n- specmill's own\n",
    ):
        with pytest.raises(SpecWithoutCriteria):
            parse_spec(note(content))


def test_a_section_with_checkboxes_ignores_its_plain_bullets() -> None:
    content = (
        "# Spec\n\n## Success Criteria\n- context, not a criterion\n- [ ] the criterion\n\n"
        "## Acceptance Criteria\n- plain, in a section without boxes\n"
    )
    assert [(c.text, c.section) for c in parse_spec(note(content)).criteria] == [
        ("the criterion", "Success Criteria"),
        ("plain, in a section without boxes", "Acceptance Criteria"),
    ]


def test_nested_criteria_headings_do_not_count_an_item_twice() -> None:
    content = "# Spec\n\n## Success Criteria\n\n### Acceptance criteria\n- once\n"
    assert [(c.text, c.section) for c in parse_spec(note(content)).criteria] == [("once", "Acceptance criteria")]
