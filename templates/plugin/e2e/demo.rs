        DemoRequest::new(
            "{{name}}: the echo upstream sees x-{{name}}",
            "GET",
            "{{name}}.e2e.local",
            "/",
            200,
        ),
