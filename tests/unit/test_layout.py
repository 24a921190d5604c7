"""Unit tests for the layout step: each of spatch's quirks, and that lines
spatch did not add are never touched."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from dattach.layout import tidy  # noqa: E402

STRUCT_BEFORE = """/**
 * struct foo - a thing
 *
 * @a:	 first
 * @b:	 second,
 *	 on two lines
 *
 * TODO: more
 */
struct foo {
	struct mutex lock;
	int				a;
	void				*b;
};
"""


class AddedMemberTest(unittest.TestCase):
    def test_member_is_tab_aligned_and_doc_moves_into_kerneldoc(self) -> None:
        spatched = STRUCT_BEFORE.replace(
            "\tvoid\t\t\t\t*b;\n", "\tvoid\t\t\t\t*b;\n\tu32 flag:1;/* the flag */\n"
        )
        expected = STRUCT_BEFORE.replace(
            " *\t on two lines\n", " *\t on two lines\n * @flag: the flag\n"
        ).replace("\tvoid\t\t\t\t*b;\n", "\tvoid\t\t\t\t*b;\n\tu32\t\t\t\tflag:1;\n")
        self.assertEqual(tidy(STRUCT_BEFORE, spatched), expected)

    def test_member_without_kerneldoc_keeps_its_comment(self) -> None:
        before = "struct bar {\n\tint\t\tx;\n};\n"
        spatched = "struct bar {\n\tint\t\tx;\n\tu32 y:1;/* why */\n};\n"
        self.assertEqual(tidy(before, spatched), "struct bar {\n\tint\t\tx;\n\tu32\t\ty:1; /* why */\n};\n")

    def test_unaligned_struct_gets_single_space(self) -> None:
        before = "struct bar {\n\tint x;\n};\n"
        spatched = "struct bar {\n\tint x;\n\tu32  y:1;\n};\n"
        self.assertEqual(tidy(before, spatched), "struct bar {\n\tint x;\n\tu32 y:1;\n};\n")

    def test_local_declaration_in_function_is_left_alone(self) -> None:
        before = "int f(void)\n{\n\treturn 0;\n}\n"
        spatched = "int f(void)\n{\n\tint  x;\n\treturn 0;\n}\n"
        self.assertEqual(tidy(before, spatched), spatched)


class MovedCodeTest(unittest.TestCase):
    BEFORE = (
        "int user(void)\n{\n\treturn 1;\n}\n\n"
        "static bool helper(int x)\n{\n\tint y = x;\n\n\t/* why */\n\tif (y)\n\t\treturn true;\n\n"
        "\treturn false;\n}\n\nint tail;\n"
    )

    def test_moved_function_gets_back_blank_lines_and_comments(self) -> None:
        spatched = (
            "static bool helper(int x)\n{\n\tint y = x;\n\tif (y)\n\t\treturn true;\n\treturn false;\n}\n\n"
            "int user(void)\n{\n\treturn 1;\n}\n\nint tail;\n"
        )
        expected = (
            "static bool helper(int x)\n{\n\tint y = x;\n\n\t/* why */\n\tif (y)\n\t\treturn true;\n\n"
            "\treturn false;\n}\n\nint user(void)\n{\n\treturn 1;\n}\n\nint tail;\n"
        )
        self.assertEqual(tidy(self.BEFORE, spatched), expected)

    def test_moved_function_with_wrapped_head_and_long_comment(self) -> None:
        before = (
            "int user(void)\n{\n\treturn 1;\n}\n\n"
            "static bool helper(int x,\n\t\t   int z)\n{\n\t/*\n\t * why\n\t */\n\treturn x && z;\n}\n\nint tail;\n"
        )
        spatched = (
            "static bool helper(int x, int z)\n{\n\treturn x && z;\n}\n\n"
            "int user(void)\n{\n\treturn 1;\n}\n\nint tail;\n"
        )
        expected = (
            "static bool helper(int x,\n\t\t   int z)\n{\n\t/*\n\t * why\n\t */\n\treturn x && z;\n}\n\n"
            "int user(void)\n{\n\treturn 1;\n}\n\nint tail;\n"
        )
        self.assertEqual(tidy(before, spatched), expected)

    def test_new_code_that_was_not_moved_is_left_alone(self) -> None:
        spatched = self.BEFORE.replace("int tail;\n", "static int other(void)\n{\n\treturn 2;\n}\n\nint tail;\n")
        self.assertEqual(tidy(self.BEFORE, spatched), spatched)


class WhitespaceTest(unittest.TestCase):
    def test_lone_tab_on_added_blank_line_is_removed(self) -> None:
        before = "int f(void)\n{\n\treturn 0;\n}\n"
        spatched = "int f(void)\n{\n\tg();\n\t\n\treturn 0;\n}\n"
        self.assertEqual(tidy(before, spatched), "int f(void)\n{\n\tg();\n\n\treturn 0;\n}\n")

    def test_unchanged_lines_keep_their_trailing_whitespace(self) -> None:
        before = "int f(void)\n{\n\treturn 0; \n}\n"
        spatched = "int f(void)\n{\n\tg();\n\treturn 0; \n}\n"
        self.assertEqual(tidy(before, spatched), spatched)

    def test_no_change_is_identity(self) -> None:
        self.assertEqual(tidy(STRUCT_BEFORE, STRUCT_BEFORE), STRUCT_BEFORE)


if __name__ == "__main__":
    unittest.main()
