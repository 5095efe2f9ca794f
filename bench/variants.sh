# Sourced by bench/run.sh and bench/load.sh: the dataset variants gen.py writes.
# name → object glob (relative to the bucket), lakeport item, lakeport table
declare -A GLOB=([csv1]="events.csv" [csv200]="csv_parts/*.csv" [ndjson]="events.ndjson"
                 [pq1]="events.parquet" [pq50]="parquet_parts/*.parquet" [small]="small/*.csv")
declare -A ITEM=([csv1]="--file events.csv" [csv200]="--folder csv_parts/" [ndjson]="--file events.ndjson"
                 [pq1]="--file events.parquet" [pq50]="--folder parquet_parts/" [small]="--folder small/")
declare -A TABLE=([csv1]=events [csv200]=csv_parts [ndjson]=events [pq1]=events [pq50]=parquet_parts [small]=small)
# The keys of a variant (from the folder s3s-fs serves), sorted.
keys() { (cd "$DATA/$BUCKET" && compgen -G "${GLOB[$1]}" | sort); }
