/* The policy schema and the module manifest schema, embedded so the binary validates without any file installed. */
    .section .rodata
    .global gbox_schema_json
    .type gbox_schema_json, @object
gbox_schema_json:
    .incbin SCHEMA_PATH
    .byte 0
    .size gbox_schema_json, . - gbox_schema_json

/* The module manifest schema (images/schema.json), the same way. */
    .global gbox_image_schema_json
    .type gbox_image_schema_json, @object
gbox_image_schema_json:
    .incbin IMAGE_SCHEMA_PATH
    .byte 0
    .size gbox_image_schema_json, . - gbox_image_schema_json
    .section .note.GNU-stack,"",@progbits
