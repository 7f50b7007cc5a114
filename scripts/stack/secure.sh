# shellcheck shell=bash
# The secure node's extras, sourced by up.sh: a test CA and certificates (openssl), the
# security plugin (a zip from Maven Central, version = the server's) and its configuration.
#
# target/stack/tls/ (PG2ES_TEST_TLS_DIR) holds, for the tests too:
#   ca.pem             the test CA that signed node.pem
#   node.pem node.key  the server certificate (CN pg2es-node, SAN localhost and 127.0.0.1),
#                      for the secure node's HTTP and transport layers and for the tests' own
#                      Postgres with TLS
#   other-ca.pem       a CA that signed nothing here: "the wrong CA"

# Makes the CA and certificates once (kept across restarts: the tests may hold paths to them).
tls_make() {
    [[ -s "$TLS_DIR/node.pem" && -s "$TLS_DIR/other-ca.pem" ]] && return 0
    command -v openssl >/dev/null || apt_install openssl
    log "tls: making a test CA and a node certificate in $TLS_DIR"
    rm -rf "$TLS_DIR" && mkdir -p "$TLS_DIR"
    (
        cd "$TLS_DIR"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=pg2es/CN=pg2es test CA" \
            -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=pg2es/CN=another CA" \
            -keyout other-ca.key -out other-ca.pem 2>/dev/null
        # A PKCS#8 key (genpkey's default): the security plugin reads no other.
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out node.key -quiet
        openssl req -new -key node.key -subj "/O=pg2es/CN=pg2es-node" -out node.csr
        printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth,clientAuth" \
            "basicConstraints=CA:FALSE" >node.ext
        openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile node.ext -out node.pem 2>/dev/null
        rm -f node.csr node.ext ca.srl other-ca.key
    ) || die "tls: openssl failed"
    chmod 644 "$TLS_DIR"/*.pem "$TLS_DIR/node.key"
}

# The plugin's jars, unpacked once from its zip (resolved with the runner's classpath).
secure_plugin() {
    local plugin="$E_DIR/plugin"
    [[ -s "$plugin/plugin-descriptor.properties" && "$plugin" -nt "$E_POM" ]] && return 0
    log "$E_NAME: unpacking the security plugin into $plugin"
    rm -rf "$plugin" "$E_DIR/zip"
    # copy-dependencies, not unpack-dependencies: that one leaves markers beside the pom.
    if ! JAVA_HOME="$JAVA17_HOME" mvn -q -B -f "$E_POM" dependency:copy-dependencies \
        -DincludeTypes=zip -Dmdep.stripVersion=true -DoutputDirectory="$E_DIR/zip" \
        >"$E_DIR/mvn-plugin.log" 2>&1; then
        tail -n 40 "$E_DIR/mvn-plugin.log" >&2
        die "$E_NAME: could not fetch the security plugin (log: $E_DIR/mvn-plugin.log)"
    fi
    mkdir -p "$plugin"
    (cd "$plugin" && "$JAVA17_HOME/bin/jar" xf "$E_DIR/zip/opensearch-security.zip") ||
        die "$E_NAME: could not unpack $E_DIR/zip/opensearch-security.zip"
    rm -rf "$E_DIR/zip"
}

# Certificates, plugin settings and the security configuration (users, roles), on every start
# after engine_write_config. The plugin reads its files only from the node's config folder.
secure_config() {
    local config="$E_BASE/node_1/config" layer
    mkdir -p "$config/tls" "$config/opensearch-security"
    cp "$TLS_DIR/ca.pem" "$TLS_DIR/node.pem" "$TLS_DIR/node.key" "$config/tls/"
    # The plugin's own defaults (config.yml: basic auth against the internal users), then ours.
    cp "$E_DIR/plugin/config/"*.yml "$config/opensearch-security/"
    cp "$STACK_SCRIPTS_DIR/secure/"*.yml "$config/opensearch-security/"
    {
        echo "# The security plugin (scripts/stack/secure.sh): TLS on both layers with the test CA,"
        echo "# basic auth against internal_users.yml, the security index made from those files."
        for layer in transport http; do
            echo "plugins.security.ssl.$layer.pemcert_filepath: tls/node.pem"
            echo "plugins.security.ssl.$layer.pemkey_filepath: tls/node.key"
            echo "plugins.security.ssl.$layer.pemtrustedcas_filepath: tls/ca.pem"
        done
        echo "plugins.security.ssl.http.enabled: true"
        echo "plugins.security.ssl.transport.enforce_hostname_verification: false"
        echo "plugins.security.nodes_dn: [\"CN=pg2es-node,O=pg2es\"]"
        echo "plugins.security.allow_default_init_securityindex: true"
        echo "plugins.security.audit.type: noop"
        echo "plugins.security.restapi.roles_enabled: [\"all_access\"]"
    } >>"$config/$E_YML"
}
